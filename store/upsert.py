"""``INSERT .. ON CONFLICT`` for SQLite and PostgreSQL, batched.

Both dialects speak the same ``ON CONFLICT (cols) DO UPDATE SET col = excluded.col`` syntax;
SQLAlchemy just needs the right ``insert`` construct for each.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

T = TypeVar("T")

#: Rows per statement; keeps SQLite under its bound-variable limit and PostgreSQL packets sane.
CHUNK = 500


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _insert(conn: Connection, table: Table) -> Any:
    name = conn.dialect.name
    if name == "sqlite":
        return sqlite.insert(table)
    if name == "postgresql":
        return postgresql.insert(table)
    raise NotImplementedError(f"no upsert for dialect {name}")


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    keys: Iterable[str],
    update: Iterable[str] | None = None,
) -> None:
    """Insert ``rows``; on a conflict over ``keys`` overwrite ``update`` columns (None: do nothing)."""
    if not rows:
        return
    stmt = _insert(conn, table)
    keys = list(keys)
    if update is None:
        stmt = stmt.on_conflict_do_nothing(index_elements=keys)
    else:
        cols = list(update)
        stmt = stmt.on_conflict_do_update(index_elements=keys, set_={c: stmt.excluded[c] for c in cols})
    conn.execute(stmt, list(rows))


__all__ = ["CHUNK", "chunks", "upsert"]
