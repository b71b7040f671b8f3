"""When each mailbox is next due, and how many syncs in a row failed: the scheduler's state.

Kept on the mailbox row so that every worker (and a restarted daemon) sees the same schedule.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Connection, select, update

from kith.store.tables import MAILBOX

#: (next run, failures in a row) of one mailbox
Schedule = tuple[datetime | None, int]


def schedules(conn: Connection, names: Collection[str]) -> dict[str, Schedule]:
    """The stored schedule of each of these mailboxes that has a row."""
    q = select(MAILBOX.c.name, MAILBOX.c.next_run_at, MAILBOX.c.failures).where(MAILBOX.c.name.in_(list(names)))
    return {name: (next_run, failures or 0) for name, next_run, failures in conn.execute(q)}


def schedule_of(conn: Connection, name: str) -> Schedule | None:
    """One mailbox's stored schedule, or None before its first sync."""
    return schedules(conn, [name]).get(name)


def set_schedule(conn: Connection, name: str, *, failures: int, next_run: datetime | None) -> None:
    conn.execute(update(MAILBOX).where(MAILBOX.c.name == name).values(failures=failures, next_run_at=next_run))


__all__ = ["Schedule", "schedule_of", "schedules", "set_schedule"]
