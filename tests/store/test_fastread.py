"""``plain_rows`` returns what SQLAlchemy would, whatever the IN lists hold (one parameter a list:
PostgreSQL arrays, SQLite JSON)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, func, literal, select

from kith.store import fastread
from kith.store.analysis_reads import in_chunks
from kith.store.derived import Contact
from kith.store.engine import Store, open_store
from kith.store.fastread import plain_rows
from kith.store.upsert import CHUNK

META = Contact.__table__  # plain string columns: plain_rows passes parameters unprocessed


def _both(conn: Connection, q: object) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    return sorted(plain_rows(conn, q)), sorted(tuple(r) for r in conn.execute(q))  # type: ignore[arg-type]


def test_in_lists_of_every_kind_give_sqlalchemys_rows(store: Store) -> None:
    with store.engine.begin() as conn:
        now = datetime(2026, 1, 1, tzinfo=UTC)
        conn.execute(
            META.insert(),
            [{"address": f"k{i}", "name": f"v{i % 3}", "automated": False, "updated_at": now} for i in range(20)],
        )
        queries = [
            select(META.c.address).where(META.c.address.in_(["k1", "k5", "nope"])),
            select(META.c.address).where(META.c.address.not_in(["k1", "k5"]), META.c.name.in_(["v0", "v1"])),
            select(META.c.address).where(META.c.address.in_([])),
            select(META.c.address).where(META.c.address.not_in([])),
            select(META.c.address).where(META.c.address.in_([f"k{i}" for i in range(0, 20, 2)]), META.c.name == "v0"),
        ]
        for q in queries:
            mine, theirs = _both(conn, q)
            assert mine == theirs
        assert len(_both(conn, queries[3])[0]) == 20 and _both(conn, queries[2])[0] == []
        # each list went as one parameter (the rows above came through it)
        assert fastread.list_parameters(conn)
        sql, params = fastread._one_parameter_lists(queries[1], conn)
        if store.dialect == "postgresql":
            assert sql is not None and "<> ALL(" in sql and "= ANY(" in sql and params
        else:
            assert sql is not None and sql.count("json_each(?)") == 2 and "NOT IN (SELECT" in sql
            assert params == ('["k1", "k5"]', '["v0", "v1"]')
        # not plain values: left to SQLAlchemy's own rendering
        when = select(META.c.address).where(META.c.address.in_([datetime(2026, 1, 1, tzinfo=UTC)]))
        assert fastread._one_parameter_lists(when, conn) == (None, None)
        conn.rollback()


def test_a_sqlite_without_json_gets_lists_cut_to_its_variable_limit(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before 3.38 SQLite's JSON functions were optional: lists then go a value a parameter,
    in chunks that SQLite's bound-variable limit allows."""
    monkeypatch.setattr(fastread, "_sqlite_json", lambda: False)
    keys = [f"k{i}" for i in range(1200)]
    with sqlite_store.engine.begin() as conn:
        now = datetime(2026, 1, 1, tzinfo=UTC)
        conn.execute(META.insert(), [{"address": k, "name": "", "automated": False, "updated_at": now} for k in keys])
        assert not fastread.list_parameters(conn)
        clauses = list(in_chunks(conn, META.c.address, keys))
        assert [len(c.right.value) for c in clauses] == [CHUNK, CHUNK, 200]
        got = [a for c in clauses for (a,) in plain_rows(conn, select(META.c.address).where(c))]
        assert sorted(got) == sorted(keys)
        conn.rollback()


def _reader_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "kith-read-ahead"]


def test_read_ahead_gives_the_same_rows_and_frees_the_connection(store: Store) -> None:
    """On PostgreSQL a thread fetches the rows a batch ahead; the caller sees the same rows in the
    same order, on SQLite too (which reads as usual), and may use the connection afterwards."""
    n = fastread.AHEAD_ROWS * 2 + 7
    series = select(func.generate_series(1, n)) if store.dialect == "postgresql" else None
    with store.engine.begin() as conn:
        if series is None:  # SQLite has no generate_series by default: a table of the same rows
            now = datetime(2026, 1, 1, tzinfo=UTC)
            conn.execute(
                META.insert(),
                [{"address": f"{i:06}", "name": "", "automated": False, "updated_at": now} for i in range(n)],
            )
            series = select(META.c.address).order_by(META.c.address)
        assert list(plain_rows(conn, series, ahead=True)) == list(plain_rows(conn, series))
        # a caller that stops early: the thread ends and the connection answers again
        rows = plain_rows(conn, series, ahead=True)
        assert next(rows) and next(rows)
        rows.close()  # type: ignore[attr-defined]
        assert not _reader_threads()
        assert conn.execute(select(literal(1))).scalar() == 1
        conn.rollback()


@pytest.mark.timeout(60)
def test_a_read_ahead_error_after_the_first_batches_reaches_the_caller(pg_url: str) -> None:
    import psycopg

    pg_store = open_store(pg_url)
    # the division fails at a row past the first batches
    failing = select(literal(1) / (func.generate_series(1, fastread.AHEAD_ROWS * 3) - fastread.AHEAD_ROWS * 2))
    with pg_store.engine.connect() as conn:
        conn.execute(select(literal(1)))  # the transaction the error aborts
        got = []
        with pytest.raises(psycopg.errors.DivisionByZero):
            for row in plain_rows(conn, failing, ahead=True):
                got.append(row)
        assert got  # the batches before the error came through first
        assert not _reader_threads()
        conn.rollback()
        assert conn.execute(select(literal(1))).scalar() == 1
    pg_store.dispose()


class _Cursor:
    """A server-side cursor's part that the read-ahead uses: ``batches`` batches of one row; the
    ``fail_at``-th fetch raises. Counts the fetches, and whether it was closed."""

    def __init__(self, batches: int, fail_at: int | None = None) -> None:
        self.batches, self.fail_at, self.fetches, self.closed = batches, fail_at, 0, False

    def execute(self, sql: str, args: object) -> None:
        pass

    def fetchmany(self, n: int) -> list[tuple[int]]:
        self.fetches += 1
        if self.fetches == self.fail_at:
            raise RuntimeError("the server went away")
        return [(self.fetches,)] if self.fetches <= self.batches else []

    def close(self) -> None:
        self.closed = True


@pytest.mark.timeout(30)
def test_read_ahead_stays_a_few_batches_ahead_and_stops_with_its_caller() -> None:
    cur = _Cursor(batches=100)
    rows = fastread._read_ahead(cur, "", None)
    assert next(rows) == (1,)
    time.sleep(0.3)  # time enough to fetch all 100, were it not held back
    assert cur.fetches <= 2 + fastread.AHEAD_BATCHES
    rows.close()  # type: ignore[attr-defined]
    assert cur.closed and not _reader_threads() and cur.fetches < 100


@pytest.mark.timeout(30)
def test_a_caller_whose_loop_raises_leaves_no_reader_behind() -> None:
    cur = _Cursor(batches=100)

    def consume() -> None:
        for (n,) in fastread._read_ahead(cur, "", None):
            if n == 3:
                raise KeyError(n)

    with pytest.raises(KeyError):
        consume()
    assert cur.closed and not _reader_threads()


@pytest.mark.timeout(30)
def test_an_error_after_the_caller_stopped_is_not_lost() -> None:
    """The fetch that fails runs while the caller still holds its first row: closing the
    iterator raises it, rather than leaving an aborted transaction to fail without a reason."""
    cur = _Cursor(batches=100, fail_at=2)
    rows = fastread._read_ahead(cur, "", None)
    assert next(rows) == (1,)
    time.sleep(0.1)
    with pytest.raises(RuntimeError, match="went away"):
        rows.close()  # type: ignore[attr-defined]
    assert cur.closed and not _reader_threads()
