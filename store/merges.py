"""The user's merges of two people into one (``contact_merges``): record, undo, read.

The analysis applies the merges in force (``kith.analysis.identity``); recording one only
writes the decision, and the next analysis (a rebuild, since who-is-who changed) moves the
history. Undo keeps the row, with the time it was undone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from kith.store.tables import MERGE


def record_merge(conn: Connection, address: str, target: str, now: datetime) -> int:
    """Store "``address``'s contact is ``target``'s"; returns the merge's id."""
    result = conn.execute(insert(MERGE).values(address=address, target=target, created_at=now))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def undo_merge(conn: Connection, merge_id: int, now: datetime) -> dict[str, Any] | None:
    """Mark a merge undone; returns it (None when there is no such merge in force)."""
    row = conn.execute(select(MERGE).where(MERGE.c.id == merge_id, MERGE.c.undone_at.is_(None))).mappings().first()
    if row is None:
        return None
    conn.execute(update(MERGE).where(MERGE.c.id == merge_id).values(undone_at=now))
    return dict(row)


def merges_in_force(conn: Connection) -> list[tuple[str, str]]:
    """(address, target) of every merge not undone, oldest first: what the analysis applies."""
    q = select(MERGE.c.address, MERGE.c.target).where(MERGE.c.undone_at.is_(None)).order_by(MERGE.c.id)
    return [(a, t) for a, t in conn.execute(q)]


def merges_into(conn: Connection, addresses: list[str]) -> list[dict[str, Any]]:
    """The merges in force that touch these addresses (as either side), newest first."""
    if not addresses:
        return []
    q = (
        select(MERGE.c.id, MERGE.c.address, MERGE.c.target, MERGE.c.created_at)
        .where(MERGE.c.undone_at.is_(None), MERGE.c.target.in_(addresses) | MERGE.c.address.in_(addresses))
        .order_by(MERGE.c.id.desc())
    )
    return [dict(r) for r in conn.execute(q).mappings()]


__all__ = ["merges_in_force", "merges_into", "record_merge", "undo_merge"]
