"""Migrations that rebuild a table keep what it holds, on both dialects."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from kith.connectors.base import Batch
from kith.store.engine import open_store, sqlite_url
from kith.store.migrate import _migration_lock
from kith.store.models import MessageLocation
from tests.store.test_ingest import apply, count, rec, setup


def test_locations_keyed_by_stream_keep_their_rows(store_url: str) -> None:
    """0004 -> 0005 swaps the unique key of message_locations (SQLite copies the table)."""
    store = open_store(store_url, upgrade=False)
    try:
        store.upgrade_to("0004")
        refs = setup(store, "INBOX", "Archive")
        apply(store, refs["INBOX"], Batch(upserts=(rec("1"), rec("2", "<b@x>")), cursor={"n": 1}))
        apply(store, refs["Archive"], Batch(upserts=(rec("1", "<b@x>", flags=frozenset({"\\Seen"})),)))
        store.upgrade()
        assert count(store, MessageLocation) == 3
        # the upsert's conflict target is the new key: re-applying changes flags, adds nothing
        apply(store, refs["Archive"], Batch(upserts=(rec("1", "<b@x>", flags=frozenset({"\\Flagged"})),)))
        assert count(store, MessageLocation) == 3
        with store.engine.connect() as conn:
            loc = MessageLocation.__table__
            q = select(loc.c.flags).where(loc.c.stream_id == refs["Archive"].id, loc.c.provider_key == "1")
            assert conn.execute(q).scalar_one() == "\\Flagged"
    finally:
        store.dispose()


def test_sqlite_upgrade_locks_the_folder_and_leaves_no_lock_file(tmp_path: Path) -> None:
    """Two processes upgrading one SQLite file at once take turns, and nothing stays beside it."""
    db = tmp_path / "kith.db"
    (tmp_path / "kith.db.migrate-lock").touch()  # what an older kith left behind
    store = open_store(sqlite_url(db), upgrade=False)
    try:
        with _migration_lock(store.engine):
            probe = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
            try:
                with pytest.raises(BlockingIOError):
                    fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            finally:
                os.close(probe)
        store.upgrade()
    finally:
        store.dispose()
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("kith.db-")) == ["kith.db"]
