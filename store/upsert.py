"""``INSERT .. ON CONFLICT`` for SQLite and PostgreSQL, batched, on the ingest hot path.

Both dialects speak the same ``ON CONFLICT (cols) DO UPDATE SET col = excluded.col`` syntax. The
statement text is built once per (table, columns, conflict keys) and handed to the driver's
``executemany`` directly: SQLAlchemy's per-row parameter processing cost more than SQLite itself
(measured: 2x slower ingest), so the few column types that need converting (UTC datetimes, JSON
text, booleans) are converted here, by the same rules the ORM types apply.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import Boolean, Connection, Table

from kith.store.models import JsonText, UtcDateTime

T = TypeVar("T")

#: Rows per statement; keeps SQLite under its bound-variable limit and PostgreSQL packets sane.
CHUNK = 500


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _sqlite_dt(value: datetime | None) -> str | None:
    if value is None:
        return None
    # the exact text SQLAlchemy's SQLite DateTime type writes and parses back
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _pg_dt(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC).replace(tzinfo=None)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)


def _converter(column: Any, dialect: str) -> Callable[[Any], Any] | None:
    if isinstance(column.type, UtcDateTime):
        return _sqlite_dt if dialect == "sqlite" else _pg_dt
    if isinstance(column.type, JsonText):
        return _json
    if isinstance(column.type, Boolean) and dialect == "sqlite":
        return lambda v: None if v is None else int(bool(v))
    return None


@lru_cache(maxsize=64)
def _quote(name: str) -> str:
    return f'"{name}"'


def _statement(
    table: Table, dialect: str, columns: tuple[str, ...], keys: tuple[str, ...], update: tuple[str, ...] | None
) -> tuple[str, tuple[tuple[str, Callable[[Any], Any]], ...]]:
    mark = (lambda c: f":{c}") if dialect == "sqlite" else (lambda c: f"%({c})s")
    sql = f"INSERT INTO {table.name} ({', '.join(_quote(c) for c in columns)}) VALUES ({', '.join(mark(c) for c in columns)})"
    if keys:  # no keys: a plain insert (rows that cannot conflict, e.g. derived tables just cleared)
        sql += f" ON CONFLICT ({', '.join(_quote(k) for k in keys)}) DO "
        sql += (
            "NOTHING"
            if not update
            else "UPDATE SET " + ", ".join(f"{_quote(c)} = excluded.{_quote(c)}" for c in update)
        )
    convs = tuple((c, f) for c in columns if (f := _converter(table.c[c], dialect)) is not None)
    return sql, convs


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    keys: Iterable[str],
    update: Iterable[str] | None = None,
) -> None:
    """Insert ``rows`` (all with the same keys); on a conflict over ``keys`` overwrite ``update``
    columns (None: leave the existing row alone). Empty ``keys``: a plain bulk insert."""
    if not rows:
        return
    dialect = conn.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        raise NotImplementedError(f"no upsert for dialect {dialect}")
    sql, convs = _statement(table, dialect, tuple(rows[0]), tuple(keys), tuple(update) if update else None)
    if convs:  # callers hand over fresh dicts: convert in place rather than copy
        for r in rows:
            for c, f in convs:
                r[c] = f(r[c])
    if dialect == "postgresql" and len(rows) >= COPY_MIN:
        _copy_upsert(conn, table, rows, sql)
        return
    conn.exec_driver_sql(sql, rows if isinstance(rows, list) else list(rows))


#: From this many rows on, PostgreSQL upserts go through COPY into a temporary table.
COPY_MIN = 50


def _copy_upsert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], sql: str) -> None:
    """COPY the rows into a session-local temp table, then one INSERT .. SELECT .. ON CONFLICT.

    PostgreSQL pays per statement and per bound parameter; COPY streams rows in one go
    (measured: ~5x the row rate of executemany here).
    """
    cols = tuple(rows[0])
    tmp = f"kith_tmp_{table.name}"
    raw = conn.connection.driver_connection
    col_list = ", ".join(_quote(c) for c in cols)
    with raw.cursor() as cur:  # type: ignore[union-attr]
        cur.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {tmp} (LIKE {table.name} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        with cur.copy(f"COPY {tmp} ({col_list}) FROM STDIN") as copy:
            for r in rows:
                copy.write_row([r[c] for c in cols])
        head, _, tail = sql.partition(" VALUES ")
        tail = tail[tail.index(" ON CONFLICT ") :] if " ON CONFLICT " in tail else ""
        cur.execute(f"{head} SELECT {col_list} FROM {tmp}{tail}")
        cur.execute(f"DELETE FROM {tmp}")


__all__ = ["CHUNK", "chunks", "upsert"]
