"""The hand-over from the sync to the analysis: the queue of message rows and addresses it changed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, select

from kith.store.fastread import plain_rows
from kith.store.tables import QUEUE


def take_queue(conn: Connection) -> tuple[set[int], set[str]]:
    """Take the sync's queue, in the caller's transaction: delete the entries this statement
    sees and return them (message row ids, addresses).

    One statement, so what it deletes is exactly what it returns. A queue id is handed out
    when a sync inserts, not when it commits: an entry can commit under the highest id a run
    has seen, and deleting "up to that id" at the end of the run lost it (its message went
    unanalysed until a rebuild). An entry committed after this statement stays for the next
    run; a rollback puts back what was taken. A SQLite before 3.35 has no RETURNING: there
    writers take turns, so an entry committed later has a higher id than any read.
    """
    messages: set[int] = set()
    addresses: set[str] = set()
    rows: Any
    if conn.dialect.delete_returning:
        # raw rows, not SQLAlchemy's: the first sync queues a million
        rows = plain_rows(conn, delete(QUEUE).returning(QUEUE.c.message_id, QUEUE.c.address))
    else:
        got = conn.execute(select(QUEUE.c.id, QUEUE.c.message_id, QUEUE.c.address)).all()
        if got:
            conn.execute(delete(QUEUE).where(QUEUE.c.id <= max(r[0] for r in got)))
        rows = [r[1:] for r in got]
    for mid, addr in rows:
        if mid is not None:
            messages.add(mid)
        elif addr:
            addresses.add(addr)
    return messages, addresses


def drop_queue(conn: Connection) -> None:
    """Delete the entries this statement sees, for a rebuild, which derives everything anyway
    (the first sync queues a million: no need to read them)."""
    conn.execute(delete(QUEUE))


__all__ = ["drop_queue", "take_queue"]
