"""A store a release left behind upgrades in place on start, with every migration added since.

``tests/data/release-<version>-<revision>.db.gz`` are stores made by tests/store/release_db.py
when that release was cut (the first was made at today's head, 0006). Each is opened as `kith`
opens a store, which upgrades it; the schema must then equal the models, what was synced must
all still be there, and the commands must work on it. On PostgreSQL the same rows are loaded
into a schema at the stored revision first, so a migration is checked on both dialects.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, create_engine, func, select, text
from typer.testing import CliRunner

import kith.store.schema  # noqa: F401 - every table on the metadata
from kith.cli import app
from kith.store.engine import open_store, sqlite_url
from kith.store.migrate import alembic_config, current_revision, head_revision
from kith.store.models import Base

DATA = Path(__file__).resolve().parents[1] / "data"
RELEASES = sorted(DATA.glob("release-*.db.gz"))
#: what came from the providers: an upgrade may rebuild derived tables, never lose these rows
SYNCED = ("mailboxes", "streams", "messages", "message_locations", "message_participants", "events",
          "event_attendees", "sync_runs", "reports")  # fmt: skip


@pytest.fixture(params=RELEASES, ids=[p.name.removesuffix(".db.gz") for p in RELEASES])
def release_db(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    db = tmp_path / "kith.db"
    with gzip.open(request.param, "rb") as src, db.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    return db


def counts(engine: Engine, tables: tuple[str, ...] = SYNCED) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(select(func.count()).select_from(text(f'"{t}"'))).scalar_one() for t in tables}


def assert_at_head_and_as_modelled(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def commands_work(tmp_path: Path, url: str) -> None:
    """What a user runs after the upgrade: status, flags, a full analysis, the report."""
    (tmp_path / "cfg").mkdir()
    config = tmp_path / "cfg" / "kith.toml"
    me = '[me]\naddresses = ["me@work.example", "dana.owner@personal.example"]\n'  # the demo's owner
    config.write_text(f'state_dir = "{tmp_path / "state"}"\n{me}[database]\nurl = "{url}"\n')
    runner = CliRunner()
    for args in (["status", "--json"], ["analyze", "--rebuild"], ["flags", "--json"], ["report", "--json"]):
        res = runner.invoke(app, ["--config", str(config), *args], catch_exceptions=False)
        assert res.exit_code == 0, (args, res.output)
    status = runner.invoke(app, ["--config", str(config), "status", "--json"]).stdout
    assert {m["name"] for m in json.loads(status)["mailboxes"]} == {"work", "personal"}


def test_there_is_a_stored_release_at_a_known_revision() -> None:
    assert RELEASES, "tests/data has no release store: run python -m tests.store.release_db"
    known = {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    for path in RELEASES:
        assert path.name.removesuffix(".db.gz").rsplit("-", 1)[1] in known, path.name


def test_a_release_store_upgrades_in_place_on_sqlite(release_db: Path, tmp_path: Path) -> None:
    raw = create_engine(sqlite_url(release_db))
    before = counts(raw)
    raw.dispose()
    store = open_store(sqlite_url(release_db))  # what every command and `kith run` do on start
    try:
        assert_at_head_and_as_modelled(store.engine)
        assert counts(store.engine) == before
    finally:
        store.dispose()
    commands_work(tmp_path, sqlite_url(release_db))
    assert sorted(p.name for p in release_db.parent.iterdir() if p.name.startswith("kith.db")) == ["kith.db"]


def _copy_rows(source: Engine, target: Engine) -> None:
    """Every row of ``source`` into the same tables of ``target`` (parents first), then the id
    sequences moved past them, as if the rows had been written there."""
    have, want = MetaData(), MetaData()
    have.reflect(source)
    want.reflect(target)
    with source.connect() as src, target.begin() as dst:
        for table in want.sorted_tables:
            if table.name == "alembic_version":
                continue
            rows = [dict(r._mapping) for r in src.execute(select(have.tables[table.name]))]
            if rows:
                dst.execute(table.insert(), rows)
            if "id" in table.c and table.c.id.autoincrement is not False:
                bump = f"SELECT setval(pg_get_serial_sequence(:t, 'id'), COALESCE(MAX(id), 0) + 1, false) FROM \"{table.name}\""
                dst.execute(text(bump), {"t": table.name})


def test_a_release_store_upgrades_in_place_on_postgresql(release_db: Path, pg_url: str, tmp_path: Path) -> None:
    source = create_engine(sqlite_url(release_db))
    revision = current_revision(source)
    before = counts(source)
    store = open_store(pg_url, upgrade=False)
    try:
        assert revision is not None
        store.upgrade_to(revision)
        _copy_rows(source, store.engine)
        store.upgrade()
        assert_at_head_and_as_modelled(store.engine)
        assert counts(store.engine) == before
    finally:
        store.dispose()
        source.dispose()
    commands_work(tmp_path, pg_url)
