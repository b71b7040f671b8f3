"""When each mailbox is due: its ``next_run_at`` and ``failures`` in the ``mailboxes`` table.

The daemon's scheduler keeps the plan in memory and writes it here after every sync, so a
restarted worker, and every other worker sharing the database, knows when a mailbox is next due
and how many syncs in a row failed (the backoff).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select, update

from kith.store.tables import MAILBOX


@dataclass(frozen=True, slots=True)
class Due:
    """When a mailbox is next due (None: at once) and how many syncs in a row failed before it."""

    next_run: datetime | None
    failures: int


def due_times(engine: Engine, names: Iterable[str]) -> dict[str, Due]:
    """The stored plan of the named mailboxes (those without a row yet are left out)."""
    query = select(MAILBOX.c.name, MAILBOX.c.next_run_at, MAILBOX.c.failures).where(MAILBOX.c.name.in_(list(names)))
    with engine.connect() as conn:
        return {r.name: Due(r.next_run_at, r.failures or 0) for r in conn.execute(query)}


def due_time(engine: Engine, name: str) -> Due | None:
    """The stored plan of one mailbox, read afresh (another worker may have just synced it)."""
    return due_times(engine, [name]).get(name)


def plan(engine: Engine, name: str, *, next_run: datetime | None, failures: int) -> None:
    """Store when ``name`` is next due and its failures in a row."""
    with engine.begin() as conn:
        conn.execute(update(MAILBOX).where(MAILBOX.c.name == name).values(failures=failures, next_run_at=next_run))


__all__ = ["Due", "due_time", "due_times", "plan"]
