"""The rows the nightly report is built from (``kith.report.numbers`` and ``kith.report.data``
bucket and shape them; the SQL is here).

Each reads a bounded window once: one indexed range scan instead of one query per bucket, and
the buckets are local calendar days, which SQL date functions cannot compute the same way on
SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, inspect, or_, select

from kith.store.tables import INTERACTION, LOCATION, MAILBOX, MESSAGE, STREAM

#: Precedence values of automated mail (RFC 3834 and common practice).
AUTOMATED_PRECEDENCE = ("bulk", "list", "junk")


def interactions_between(
    conn: Connection, start: datetime, end: datetime
) -> list[tuple[datetime, str, bool, bool, Any]]:
    """(time, kind, personal, broadcast, event key) of every interaction in [start, end); none
    before the analysis has made its table."""
    if not inspect(conn).has_table(INTERACTION.name):
        return []
    t = INTERACTION
    rows = conn.execute(
        select(t.c.at, t.c.kind, t.c.personal, t.c.broadcast, t.c.event_id).where(t.c.at >= start, t.c.at < end)
    )
    return [(r[0], r[1], bool(r[2]), bool(r[3]), r[4]) for r in rows]


def replies_to_people(
    conn: Connection, me: Collection[str], *, start: datetime, end: datetime, asked_since: datetime
) -> list[tuple[str, datetime | None, datetime | None]]:
    """(message key, when I replied, when they asked) for my live messages in [start, end) whose
    In-Reply-To names someone else's message in the same mailbox, sent at or after
    ``asked_since``, that is not automated (a list, bulk, auto-submitted)."""
    mine = MESSAGE
    parent = MESSAGE.alias("parent")
    rows = conn.execute(
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
            parent.c.date >= asked_since,
        )
    )
    return [(key, at, asked) for key, at, asked in rows]


def message_copies(conn: Connection, keys: Iterable[str]) -> list[Any]:
    """Every stored copy of these messages, oldest row first: ``message_key``, ``subject``,
    ``thread_id``, the mailbox's ``kind``, and per folder copy its ``stream``, ``labels`` and
    ``provider_key`` (None for a message in no folder)."""
    return list(
        conn.execute(
            select(
                MESSAGE.c.message_key,
                MESSAGE.c.subject,
                MESSAGE.c.thread_id,
                MAILBOX.c.kind,
                STREAM.c.name.label("stream"),
                LOCATION.c.labels,
                LOCATION.c.provider_key,
            )
            .select_from(MESSAGE.join(MAILBOX, MAILBOX.c.id == MESSAGE.c.mailbox_id))
            .outerjoin(LOCATION, LOCATION.c.message_id == MESSAGE.c.id)
            .outerjoin(STREAM, STREAM.c.id == LOCATION.c.stream_id)
            .where(MESSAGE.c.message_key.in_(sorted(keys)))
            .order_by(MESSAGE.c.id)
        )
    )


__all__ = ["AUTOMATED_PRECEDENCE", "interactions_between", "message_copies", "replies_to_people"]
