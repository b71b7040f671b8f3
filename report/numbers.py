"""The report's numbers straight from the tables: interactions per time window, my reply times.

Both read a bounded window (the last 12 weeks / 90 days) once and bucket in Python: one indexed
range scan instead of one query per bucket, and the buckets are local calendar days, which SQL
date functions cannot compute the same way on SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, inspect, or_, select
from sqlalchemy.orm import Session

from kith.analysis.facts import SANE_START
from kith.store.derived import Interaction
from kith.store.models import MessageRow

log = logging.getLogger(__name__)

Window = tuple[datetime, datetime]
AUTOMATED_PRECEDENCE = ("bulk", "list", "junk")


def _zero() -> dict[str, int]:
    return {"personal_in": 0, "personal_out": 0, "meetings": 0, "broadcast_out": 0}


def _interaction_rows(session: Session, start: datetime, end: datetime) -> list[tuple[datetime, str, bool, bool, Any]]:
    """(time, kind, personal, broadcast, event key) of every interaction in [start, end)."""
    if not inspect(session.connection()).has_table(Interaction.__tablename__):
        return []
    t = Interaction.__table__
    rows = session.execute(
        select(t.c.at, t.c.kind, t.c.personal, t.c.broadcast, t.c.event_id).where(t.c.at >= start, t.c.at < end)
    )
    return [(r[0], r[1], bool(r[2]), bool(r[3]), r[4]) for r in rows]


def interaction_counts(session: Session, windows: Sequence[Window]) -> list[dict[str, int]]:
    """Personal mail in/out, meetings (distinct events) and broadcasts out, per window."""
    out = [_zero() for _ in windows]
    if not windows:
        return out
    start = min(w[0] for w in windows)
    end = max(w[1] for w in windows)
    meetings: list[set[Any]] = [set() for _ in windows]
    for at, kind, personal, broadcast, event in _interaction_rows(session, start, end):
        for i, (lo, hi) in enumerate(windows):
            if not lo <= at < hi:
                continue
            if kind == "meeting":
                meetings[i].add(event if event is not None else at)
            elif kind == "email_in" and personal:
                out[i]["personal_in"] += 1
            elif kind == "email_out" and personal:
                out[i]["personal_out"] += 1
            elif kind == "email_out" and broadcast:
                out[i]["broadcast_out"] += 1
    for i, found in enumerate(meetings):
        out[i]["meetings"] = len(found)
    return out


def reply_times(
    session: Session, me: Collection[str], *, start: datetime, end: datetime
) -> list[tuple[datetime, float]]:
    """(when I replied, hours it took) for each of my replies in [start, end) to a person's message.

    A reply is my message whose In-Reply-To names a message from someone else in the same mailbox;
    replies to automated mail (lists, bulk, auto-submitted) do not count. A message stored in
    several mailboxes counts once.
    """
    if not me:
        return []
    mine = MessageRow.__table__
    parent = MessageRow.__table__.alias("parent")
    rows = session.execute(
        select(mine.c.message_key, mine.c.date, parent.c.date)
        .select_from(
            mine.join(
                parent, and_(parent.c.message_key == mine.c.in_reply_to, parent.c.mailbox_id == mine.c.mailbox_id)
            )
        )
        .where(
            mine.c.from_addr.in_(sorted(me)),
            mine.c.date >= start,
            mine.c.date < end,
            mine.c.deleted_at.is_(None),
            parent.c.from_addr.not_in(sorted(me)),
            parent.c.list_id.is_(None),
            or_(parent.c.auto_submitted.is_(None), func.lower(parent.c.auto_submitted) == "no"),
            or_(parent.c.precedence.is_(None), func.lower(parent.c.precedence).not_in(AUTOMATED_PRECEDENCE)),
            parent.c.date.is_not(None),
            parent.c.date >= SANE_START,  # a stranger's Date of 1900 is no time they asked
        )
    )
    seen: set[str] = set()
    out = []
    for key, at, asked in rows:
        if key in seen or at is None or asked is None or at <= asked:
            continue
        seen.add(key)
        out.append((at, (at - asked).total_seconds() / 3600))
    return out


__all__ = ["interaction_counts", "reply_times"]
