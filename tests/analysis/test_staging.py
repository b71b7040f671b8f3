"""PostgreSQL rebuilds load bare copies of the derived tables and swap them in at the end.

The copies must come out as the tables were (the same keys, foreign keys, indexes, names and
sequences, since later migrations and incremental runs rely on them); readers must be able to
read the old tables until the swap; a failed rebuild must leave no trace; and a store whose
tables cannot be swapped safely (here: a view on one) is rebuilt in place.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, text

import kith.analysis.rebuild as rebuild_mod
from kith.analysis.api import analyze
from kith.analysis.staging import TABLES, Staging
from kith.config.load import load_config
from kith.daemon.demo import write_demo_config
from kith.daemon.sync import sync_mailboxes
from kith.store.engine import Store, open_store

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
    where = "c.relnamespace = to_regnamespace(:s) AND c.relname = ANY(:t)"
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


def test_a_view_on_a_derived_table_keeps_the_rebuild_in_place(synced: Any, caplog: pytest.LogCaptureFixture) -> None:
    store, config, now = synced
    with store.engine.begin() as conn:
        conn.execute(text("CREATE VIEW my_report AS SELECT contact_id, count(*) AS n FROM interactions GROUP BY 1"))
        oids = _catalog(conn)["oids"]
    with caplog.at_level(logging.INFO, logger="kith.analysis.staging"):
        _rebuild(store, config, now)
    assert "in place (a view or rule depends on a derived table)" in caplog.text
    with store.engine.connect() as conn:
        assert _catalog(conn)["oids"] == oids
        assert conn.execute(text("SELECT sum(n) FROM my_report")).scalar() > 0
