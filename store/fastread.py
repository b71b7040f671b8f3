"""Reading many rows without SQLAlchemy's per-row result machinery.

The analysis reads every message and fact on a rebuild and tens of thousands on an incremental
run. SQLAlchemy's ``Row`` objects and type processors cost more per row than SQLite itself
(measured: ~1.5 µs of overhead per row, a second and a half per million), so the bulk readers
compile a Core ``select`` once and iterate the driver's cursor directly. The values come back as
the driver gives them: SQLite returns datetimes as text and booleans as 0/1, which the callers
convert (``as_utc``, ``bool``) exactly as the ORM types would.
"""

from __future__ import annotations

import json
import queue
import re
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache
from itertools import count
from typing import Any

from sqlalchemy import Connection, Select
from sqlalchemy.sql.dml import ReturningDelete

_names = count()
#: Rows a server-side cursor fetches at a time.
STREAM_ROWS = 5000
#: Rows a read-ahead cursor fetches at a time: small, so the caller starts on the first soon.
AHEAD_ROWS = 2000
#: Batches a read-ahead thread may hold that the caller has not taken yet.
AHEAD_BATCHES = 2


def plain_rows(
    conn: Connection, stmt: Select[Any] | ReturningDelete[Any], *, stream: bool = False, ahead: bool = False
) -> Iterator[tuple[Any, ...]]:
    """The rows of ``stmt`` (a SELECT, or a DELETE .. RETURNING) as plain driver tuples, in the
    caller's transaction.

    ``stream``: on PostgreSQL use a server-side cursor so a huge result is not held in memory at
    once (SQLite cursors always step lazily). ``ahead``: on PostgreSQL, a thread reads the rows
    while the caller works on those it has (see ``_read_ahead``); the caller must not use the
    connection until it has taken every row or closed the iterator. Only string, number and
    boolean parameters: they are passed to the driver unprocessed.
    """
    pg = conn.dialect.name == "postgresql"
    sql, args = _one_parameter_lists(stmt, conn) if list_parameters(conn) else (None, None)
    if sql is None:
        compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
        params = compiled.params
        positions = compiled.positiontup
        sql, args = str(compiled), tuple(params[k] for k in positions) if positions else params
    raw: Any = conn.connection.driver_connection
    if pg and ahead:
        yield from _read_ahead(raw.cursor(name=f"kith_rows_{next(_names)}"), sql, args)
        return
    cur = raw.cursor(name=f"kith_rows_{next(_names)}") if pg and stream else raw.cursor()
    try:
        cur.execute(sql, args)
        if not pg:
            yield from cur
        elif not stream:
            yield from cur.fetchall()
        else:
            # a batch at a time: psycopg's own iteration steps through Python code a row
            # (measured: 1.8 µs a row, seconds of a rebuild that reads four million rows)
            while rows := cur.fetchmany(STREAM_ROWS):
                yield from rows
    finally:
        cur.close()


def _read_ahead(cur: Any, sql: str, args: Any) -> Iterator[tuple[Any, ...]]:
    """The rows of a server-side cursor, fetched by a thread a batch or two ahead of the caller.

    The server computes the next batch while the caller works on this one, instead of each
    waiting for the other: the incremental run's history read (100k rows at 1M messages, each
    a key lookup) spent half its time waiting on the server. psycopg waits for the server
    without the GIL. Not on SQLite, which works in this process: its thread takes the GIL
    back after every row, and the same read took a third longer.

    The thread stays at most ``AHEAD_BATCHES`` ahead, so rows do not pile up beside what the
    caller makes of them. Once the caller has taken every row, or closed the iterator (also
    when its loop raised), the thread has stopped and the cursor is closed: the connection is
    free again. An error of the thread's is raised to the caller, even one that came after
    the caller stopped reading (the transaction is aborted: its next statement would fail
    without saying why).
    """
    batches: queue.Queue[list[tuple[Any, ...]] | None] = queue.Queue(AHEAD_BATCHES)
    stop = threading.Event()
    failed: list[BaseException] = []

    def hand_over(item: list[tuple[Any, ...]] | None) -> bool:
        while not stop.is_set():
            try:
                batches.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def fetch() -> None:
        try:
            cur.execute(sql, args)
            while rows := cur.fetchmany(AHEAD_ROWS):
                if not hand_over(rows):
                    return
        except BaseException as exc:  # raised in the caller's thread, below
            failed.append(exc)
        hand_over(None)

    worker = threading.Thread(target=fetch, name="kith-read-ahead", daemon=True)
    worker.start()
    try:
        while (rows := batches.get()) is not None:
            yield from rows
    except GeneratorExit:
        pass  # the caller stopped reading: only an error of the thread's is left to report
    finally:
        stop.set()
        worker.join()
        cur.close()
    if failed:
        raise failed[0]


_EXPANDING = re.compile(r"(NOT )?IN \(__\[POSTCOMPILE_(\w+)\]\)")


def list_parameters(conn: Connection) -> bool:
    """Whether ``plain_rows`` passes each ``IN`` list on ``conn`` as one parameter, so callers
    need not cut lists to SQLite's bound-variable limit: always on PostgreSQL (an array), on
    SQLite when its JSON functions are built in (a JSON list read by ``json_each``)."""
    if conn.dialect.name == "postgresql":
        return True
    return conn.dialect.name == "sqlite" and _sqlite_json()


@lru_cache(maxsize=1)
def _sqlite_json() -> bool:
    try:
        sqlite3.connect(":memory:").execute("SELECT value FROM json_each('[1]')").close()
    except sqlite3.Error:  # a SQLite built without JSON (before 3.38 it was optional)
        return False
    return True


def _one_parameter_lists(stmt: Select[Any] | ReturningDelete[Any], conn: Connection) -> tuple[str | None, Any]:
    """The statement with each ``IN`` list passed as one parameter, or (None, None) when a list
    holds anything but plain values. PostgreSQL gets an array (``= ANY(%(p)b)``, ``NOT IN``:
    ``<> ALL``), SQLite a JSON list (``IN (SELECT value FROM json_each(?))``), which both plan
    as an index lookup a value. Rendering a list as one bind parameter a value cost more than
    the queries of an incremental run themselves (measured at 1M messages on PostgreSQL: 69k
    parameters, 1.5 s of SQLAlchemy and psycopg query processing)."""
    compiled = stmt.compile(dialect=conn.dialect)
    text, params = str(compiled), dict(compiled.params)
    lists = {m.group(2) for m in _EXPANDING.finditer(text)}
    for name in lists:
        values = params.get(name)
        if not isinstance(values, list | tuple) or not all(isinstance(v, str | int) for v in values):
            return None, None
        params[name] = list(values)
    if conn.dialect.name == "sqlite":
        sql = _EXPANDING.sub(lambda m: f"{m.group(1) or ''}IN (SELECT value FROM json_each(?))", text)
        positions = compiled.positiontup or []
        args = tuple(json.dumps(params[n]) if n in lists else params[n] for n in positions)
        return (None, None) if "POSTCOMPILE" in sql else (sql, args)

    def array(m: re.Match[str]) -> str:
        # in binary, as psycopg then quotes no element (text: a regex a value, 4x the time at
        # 30k thread keys); an empty list has no element type to send in binary
        name = m.group(2)
        return f"{'<> ALL' if m.group(1) else '= ANY'}(%({name}){'b' if params[name] else 's'})"

    sql = _EXPANDING.sub(array, text)
    return (None, None) if "POSTCOMPILE" in sql else (sql, params)


def as_utc(value: Any) -> datetime:
    """A stored naive-UTC time as read raw (SQLite text, PostgreSQL naive datetime), made aware."""
    if isinstance(value, str):
        # the store writes naive UTC text; parsing it with the offset appended is 5x cheaper than
        # ``replace(tzinfo=UTC)`` afterwards (measured: 0.26 against 1.5 µs, two calls a message)
        return datetime.fromisoformat(value + "+00:00")
    # built anew, positionally: ``replace(tzinfo=UTC)`` parses its keyword at 2.5x the cost
    # (0.49 against 0.19 µs; 180k times in an incremental run at 1M messages)
    v: datetime = value
    return datetime(v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond, UTC)


def as_utc_or_none(value: Any) -> datetime | None:
    return None if value is None else as_utc(value)


__all__ = ["as_utc", "as_utc_or_none", "list_parameters", "plain_rows"]
