"""The report's numbers: interactions per time window, my reply times.

Both read a bounded window (the last 12 weeks / 90 days) once (``kith.store.report_data``) and
bucket in Python: the buckets are local calendar days, which SQL date functions cannot compute
the same way on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from kith.analysis.facts import SANE_START
from kith.store.report_data import interactions_between, replies_to_people

Window = tuple[datetime, datetime]


def _zero() -> dict[str, int]:
    return {"personal_in": 0, "personal_out": 0, "meetings": 0, "broadcast_out": 0}


def interaction_counts(session: Session, windows: Sequence[Window]) -> list[dict[str, int]]:
    """Personal mail in/out, meetings (distinct events) and broadcasts out, per window."""
    out = [_zero() for _ in windows]
    if not windows:
        return out
    start = min(w[0] for w in windows)
    end = max(w[1] for w in windows)
    meetings: list[set[Any]] = [set() for _ in windows]
    for at, kind, personal, broadcast, event in interactions_between(session.connection(), start, end):
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
    # a stranger's Date of 1900 is no time they asked
    rows = replies_to_people(session.connection(), me, start=start, end=end, asked_since=SANE_START)
    seen: set[str] = set()
    out = []
    for key, at, asked in rows:
        if key in seen or at is None or asked is None or at <= asked:
            continue
        seen.add(key)
        out.append((at, (at - asked).total_seconds() / 3600))
    return out


__all__ = ["interaction_counts", "reply_times"]
