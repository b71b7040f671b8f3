"""PostgreSQL rebuilds load bare copies of the derived tables and swap them in at the end.

The copies must come out as the tables were (the same keys, foreign keys, indexes, names and
sequences, since later migrations and incremental runs rely on them); readers must be able to
read the old tables until the swap, which gives way to them; a failed rebuild must leave no
trace; and a store whose tables cannot be swapped safely is rebuilt in place.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, text

import kith.analysis.rebuild as rebuild_mod
from kith.analysis.api import analyze
from kith.cli.demo_pipeline import write_demo_config
from kith.config.load import load_config
from kith.daemon.sync import sync_mailboxes
from kith.store import swap as staging_mod
from kith.store.engine import Store, open_store
from kith.store.swap import TABLES, Staging

pytestmark = pytest.mark.integration


@pytest.fixture
def synced(tmp_path: Path, pg_url: str) -> Any:
    from kith.sample import generate

    info = generate(tmp_path / "sample", seed=5, messages=800)
    config = load_config(write_demo_config(tmp_path, info))
    store = open_store(pg_url)
    sync_mailboxes(config, store)
    yield store, config, info.now
    store.dispose()


def _rebuild(store: Store, config: Any, now: Any) -> None:
    with store.session() as s:
        assert analyze(s, config, now=now, rebuild=True)["mode"] == "rebuild"


def _catalog(conn: Connection) -> dict[str, Any]:
    """What a swap must keep: every key, foreign key and index with its name and definition,
    column defaults, the sequences' owners; and the tables' oids, which it must change."""
    home = conn.execute(text("SELECT current_schema()")).scalar_one()
    rels = {"s": home, "t": list(TABLES)}
    where = "c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = :s) AND c.relname = ANY(:t)"
    q = {
        "constraints": f"""SELECT c.relname, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k
                JOIN pg_class c ON c.oid = k.conrelid WHERE {where}""",
        "indexes": f"""SELECT c.relname, i.relname, pg_get_indexdef(i.oid) FROM pg_index x
                JOIN pg_class c ON c.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid WHERE {where}""",
        "defaults": f"""SELECT c.relname, a.attname, pg_get_expr(d.adbin, d.adrelid), a.attnotnull FROM pg_attribute a
                JOIN pg_class c ON c.oid = a.attrelid LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid
                 AND d.adnum = a.attnum WHERE {where} AND a.attnum > 0 AND NOT a.attisdropped""",
        "sequences": f"""SELECT s.relname, c.relname, a.attname FROM pg_depend d
                JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' JOIN pg_class c ON c.oid = d.refobjid
                JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
               WHERE {where} AND d.deptype = 'a'""",
    }
    out: dict[str, Any] = {k: sorted(tuple(r) for r in conn.execute(text(v), rels)) for k, v in q.items()}
    staging = "SELECT nspname FROM pg_namespace WHERE nspname LIKE '%kith_rebuild%'"
    out["staging schemas"] = sorted(conn.execute(text(staging)).scalars())
    out["oids"] = sorted(conn.execute(text(f"SELECT c.oid FROM pg_class c WHERE {where}"), rels).scalars())
    return out


def test_the_swapped_tables_keep_every_key_index_and_sequence(synced: Any) -> None:
    store, config, now = synced
    with store.engine.connect() as conn:
        before = _catalog(conn)  # as the migrations made them
    assert len(before["constraints"]) >= 10 and len(before["sequences"]) == 2
    for _ in range(2):
        _rebuild(store, config, now)
        with store.engine.connect() as conn:
            after = _catalog(conn)
            assert after["oids"] != before["oids"]  # new tables, so the swap did happen
            assert {k: v for k, v in after.items() if k != "oids"} == {k: v for k, v in before.items() if k != "oids"}
            counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in TABLES}
            assert all(counts.values()), counts
            # the sequences go on: a new contact gets an id no earlier one had
            top = conn.execute(text("SELECT max(id) FROM contacts")).scalar()
            assert conn.execute(text("SELECT nextval('contacts_id_seq')")).scalar() > top
        before = after
    # and an incremental run works on the swapped tables
    with store.session() as s:
        assert analyze(s, config, now=now)["mode"] == "incremental"


def test_readers_read_the_old_tables_until_the_swap(synced: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    store, config, now = synced
    _rebuild(store, config, now)
    with store.engine.begin() as conn:  # a row the next rebuild will not write again
        conn.execute(
            text("INSERT INTO contacts (address, name, automated, updated_at) VALUES ('old@x', '', false, now())")
        )
    seen: list[Any] = []
    real_swap = Staging.swap

    def swap(self: Staging, conn: Connection) -> None:
        reader = create_engine(store.engine.url)
        try:
            with reader.connect() as other:
                other.execute(text("SET lock_timeout = '3s'"))  # a blocked reader fails the test
                seen.append(other.execute(text("SELECT count(*) FROM contacts WHERE address = 'old@x'")).scalar())
                seen.append(other.execute(text("SELECT count(*) FROM interactions")).scalar())
        finally:
            reader.dispose()
        real_swap(self, conn)

    monkeypatch.setattr(Staging, "swap", swap)
    _rebuild(store, config, now)
    assert seen[0] == 1 and seen[1] > 0
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM contacts WHERE address = 'old@x'")).scalar() == 0


def test_a_failed_rebuild_leaves_the_old_tables(synced: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    store, config, now = synced
    _rebuild(store, config, now)
    with store.engine.connect() as conn:
        before = _catalog(conn)
        rows = conn.execute(text("SELECT count(*) FROM interactions")).scalar()

    def fail(*_args: Any, **_kw: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(rebuild_mod, "write_results", fail)
    with pytest.raises(RuntimeError, match="disk full"), store.session() as s:
        analyze(s, config, now=now, rebuild=True)
    with store.engine.connect() as conn:
        assert _catalog(conn) == before  # the same tables (oids), no staging schema left
        assert conn.execute(text("SELECT count(*) FROM interactions")).scalar() == rows
        assert conn.execute(text("SHOW search_path")).scalar() == conn.execute(text("SELECT current_schema()")).scalar()


@pytest.mark.parametrize(
    ("ddl", "why"),
    [
        ("CREATE VIEW my_report AS SELECT contact_id, count(*) AS n FROM interactions GROUP BY 1", "depends on"),
        ("CREATE FUNCTION my_name(c contacts) RETURNS text LANGUAGE sql AS 'SELECT c.name'", "depends on"),
        ("CREATE TABLE my_archive () INHERITS (interactions)", "depends on"),
        ("ALTER TABLE contacts SET (autovacuum_enabled = false)", "storage options"),
        ("CREATE STATISTICS my_stats ON contact_id, at FROM interactions", "extended statistics"),
    ],
)
def test_what_a_swap_would_break_keeps_the_rebuild_in_place(
    synced: Any, caplog: pytest.LogCaptureFixture, ddl: str, why: str
) -> None:
    store, config, now = synced
    with store.engine.begin() as conn:
        conn.execute(text(ddl))
        oids = _catalog(conn)["oids"]
    with caplog.at_level(logging.INFO, logger="kith.store.swap"):
        _rebuild(store, config, now)
    assert "loading the derived tables in place" in caplog.text and why in caplog.text
    with store.engine.connect() as conn:
        assert _catalog(conn)["oids"] == oids  # the same tables, rebuilt in place
        assert conn.execute(text("SELECT count(*) FROM interactions")).scalar() > 0


def test_the_swap_gives_way_to_a_reader_and_then_happens(
    synced: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A reader holding a derived table when the swap comes: the swap times out, rolls back to
    its savepoint and tries again once the reader is done, instead of failing the rebuild."""
    store, config, now = synced
    monkeypatch.setattr(staging_mod, "SWAP_TIMEOUTS", (1, 1, 1))
    real_swap = Staging.swap
    reader = create_engine(store.engine.url)
    tries: list[float] = []

    def swap(self: Staging, conn: Connection) -> None:
        other = reader.connect()
        other.execute(text("SELECT count(*) FROM interactions"))  # holds it until the commit below
        threading.Timer(1.5, lambda: (other.commit(), other.close())).start()
        started = time.monotonic()
        real_swap(self, conn)
        tries.append(time.monotonic() - started)

    monkeypatch.setattr(Staging, "swap", swap)
    with store.engine.connect() as conn:
        oids = _catalog(conn)["oids"]
    try:
        with caplog.at_level(logging.INFO, logger="kith.store.swap"):
            _rebuild(store, config, now)
    finally:
        reader.dispose()
    assert "the swap gave way to a reader (try 1)" in caplog.text and "lock timeout" in caplog.text
    assert tries and tries[0] >= 1.0
    with store.engine.connect() as conn:
        assert _catalog(conn)["oids"] != oids


def test_a_schema_with_an_awkward_name_is_staged(pg_server: str, tmp_path: Path) -> None:
    """Upper case, a space, a dot, a quote and 63 bytes: the staging schema has a name of its own."""
    from sqlalchemy.engine import make_url

    from kith.sample import generate

    name = 'Kith "Odd".Name ' + "x" * 47
    assert len(name.encode()) == 63
    admin = create_engine(pg_server)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {staging_mod._q(name)}"))
    try:
        quoted = staging_mod._q(name).replace(" ", "\\ ")
        url = make_url(pg_server).update_query_dict({"options": f"-csearch_path={quoted}"})
        store = open_store(url.render_as_string(hide_password=False))
        try:
            with store.engine.connect() as conn:
                assert conn.execute(text("SELECT current_schema()")).scalar() == name
            info = generate(tmp_path / "sample", seed=6, messages=300)
            config = load_config(write_demo_config(tmp_path, info))
            sync_mailboxes(config, store)
            with store.engine.connect() as conn:
                oids = _catalog(conn)["oids"]
            _rebuild(store, config, info.now)
            with store.engine.connect() as conn:
                after = _catalog(conn)
                assert after["oids"] != oids and after["staging schemas"] == []
        finally:
            store.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {staging_mod._q(name)} CASCADE"))
        admin.dispose()
