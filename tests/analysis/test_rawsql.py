"""``plain_rows`` returns what SQLAlchemy would, whatever the IN lists hold (one parameter a list:
PostgreSQL arrays, SQLite JSON)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, select

from kith.analysis import rawsql
from kith.analysis.load import in_chunks
from kith.analysis.rawsql import plain_rows
from kith.store.derived import Contact
from kith.store.engine import Store
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
        assert rawsql.list_parameters(conn)
        sql, params = rawsql._one_parameter_lists(queries[1], conn)
        if store.dialect == "postgresql":
            assert sql is not None and "<> ALL(" in sql and "= ANY(" in sql and params
        else:
            assert sql is not None and sql.count("json_each(?)") == 2 and "NOT IN (SELECT" in sql
            assert params == ('["k1", "k5"]', '["v0", "v1"]')
        # not plain values: left to SQLAlchemy's own rendering
        when = select(META.c.address).where(META.c.address.in_([datetime(2026, 1, 1, tzinfo=UTC)]))
        assert rawsql._one_parameter_lists(when, conn) == (None, None)
        conn.rollback()


def test_a_sqlite_without_json_gets_lists_cut_to_its_variable_limit(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before 3.38 SQLite's JSON functions were optional: lists then go a value a parameter,
    in chunks that SQLite's bound-variable limit allows."""
    monkeypatch.setattr(rawsql, "_sqlite_json", lambda: False)
    keys = [f"k{i}" for i in range(1200)]
    with sqlite_store.engine.begin() as conn:
        now = datetime(2026, 1, 1, tzinfo=UTC)
        conn.execute(META.insert(), [{"address": k, "name": "", "automated": False, "updated_at": now} for k in keys])
        assert not rawsql.list_parameters(conn)
        clauses = list(in_chunks(conn, META.c.address, keys))
        assert [len(c.right.value) for c in clauses] == [CHUNK, CHUNK, 200]
        got = [a for c in clauses for (a,) in plain_rows(conn, select(META.c.address).where(c))]
        assert sorted(got) == sorted(keys)
        conn.rollback()
