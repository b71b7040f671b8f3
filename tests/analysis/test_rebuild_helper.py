"""A rebuild that derives the contacts in a helper process writes exactly what an inline one does.

The helper is normally used only on big stores (``OFFLOAD_MIN``); these tests lower the bound so
the sample corpus takes that path, on both dialects, and check every derived table against an
inline rebuild of the same store. A helper that fails leaves the rebuild to this process, which
starts over: nothing the helper's half-run wrote survives or is doubled.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

import kith.analysis.rebuild as rebuild_mod
from kith.analysis import rebuild_helper
from kith.analysis.api import analyze
from kith.cli.demo_pipeline import write_demo_config
from kith.config.load import load_config
from kith.daemon.sync import sync_mailboxes
from kith.store.derived import ContactStat, MailFact, ThreadNode
from kith.store.engine import Store, open_store, sqlite_url
from kith.store.models import MessageRow, MetaRow
from tests.analysis.test_incremental import snapshot


def _derived(store: Store, now: Any) -> tuple[Any, ...]:
    with store.session() as s:
        tables = tuple(
            sorted(tuple(map(repr, r)) for r in s.execute(select(t.__table__))) for t in (MailFact, ThreadNode)
        )
        stats = sorted(
            tuple(map(repr, r[1:])) for r in s.execute(select(ContactStat.__table__))
        )  # contact ids differ between runs
    return (*snapshot(store, now), *tables, stats)


def _rebuild(store: Store, config: Any, now: Any) -> tuple[Any, ...]:
    with store.session() as s:
        assert analyze(s, config, now=now, rebuild=True)["mode"] == "rebuild"
    return _derived(store, now)


@pytest.fixture
def synced(tmp_path: Path, store_url: str) -> Any:
    from kith.sample import generate

    info = generate(tmp_path / "sample", seed=3, messages=2500)
    # a few mails also in a second mailbox: keys stored twice, which one process derives
    assert len(info.mailboxes) >= 2
    for f in sorted((info.mailboxes[0].path / "cur").iterdir())[:40:4]:
        shutil.copy(f, info.mailboxes[1].path / "cur" / f"copy-{f.name}")
    config = load_config(write_demo_config(tmp_path, info))
    store = open_store(store_url)
    sync_mailboxes(config, store)
    yield store, config, info.now
    store.dispose()


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record each helper start (the real one still runs)."""
    started: list[str] = []
    real = rebuild_mod.derive_elsewhere

    def spy(url: str, *args: Any) -> Any:
        started.append(url)
        return real(url, *args)

    monkeypatch.setattr(rebuild_mod, "derive_elsewhere", spy)
    return started


def test_offloaded_rebuild_equals_inline(synced: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    store, config, now = synced
    started = _spy(monkeypatch)
    inline = _rebuild(store, config, now)
    assert started == []  # a small store: no helper
    monkeypatch.setattr(rebuild_helper, "OFFLOAD_MIN", 0)
    offloaded = _rebuild(store, config, now)
    assert len(started) == 1
    assert offloaded == inline
    # each process derived one half of the facts: single copies by id, and this process the
    # keys stored more than once (the sample has some: the same mail in two of my mailboxes)
    with store.engine.connect() as conn:
        mine, theirs = rebuild_helper.halves(conn)
        msg = MessageRow.__table__.c
        twice = select(msg.message_key).group_by(msg.message_key).having(func.count() > 1)
        assert conn.execute(select(func.count()).select_from(twice.subquery())).scalar()
        assert mine.multi and not theirs.multi and mine.hi == theirs.lo
    assert len(inline[0]) >= 5 and len(inline[2]) >= 500 and len(inline[3]) >= 2000


def test_a_failing_helper_leaves_the_rebuild_to_this_process(
    synced: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    store, config, now = synced
    inline = _rebuild(store, config, now)
    # the helper reads a database with no tables: it fails at once, and says why
    empty = sqlite_url(tmp_path / "elsewhere" / "empty.db")
    monkeypatch.setattr(rebuild_mod, "reader_url", lambda conn: empty)
    with caplog.at_level(logging.WARNING, logger="kith.analysis.rebuild"):
        again = _rebuild(store, config, now)
    assert "deriving in this process instead" in caplog.text
    assert "no such table" in caplog.text
    assert again == inline


def test_a_helper_failing_after_the_trade_leaves_nothing_behind(
    sqlite_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The helper fails once the facts are traded and this process has written them (and built
    their indexes): the rebuild starts over in this process, and its end state is an inline one."""
    from kith.sample import generate

    info = generate(tmp_path / "sample", seed=4, messages=1500)
    config = load_config(write_demo_config(tmp_path, info))
    sync_mailboxes(config, sqlite_store)
    inline = _rebuild(sqlite_store, config, now=info.now)
    # the helper reads a copy of the store without meeting attendees: it fails at the meetings,
    # after the trade (the same rows and ids as this store's, so the trade itself is sound)
    copy = tmp_path / "copy.db"
    with sqlite3.connect(str(tmp_path / "kith.db")) as src, sqlite3.connect(str(copy)) as dst:
        src.backup(dst)
        dst.execute("DROP TABLE event_attendees")
    monkeypatch.setattr(rebuild_mod, "reader_url", lambda conn: sqlite_url(copy))
    with caplog.at_level(logging.WARNING, logger="kith.analysis.rebuild"):
        again = _rebuild(sqlite_store, config, now=info.now)
    assert "deriving in this process instead" in caplog.text
    assert "no such table: event_attendees" in caplog.text
    assert again == inline


def test_no_helper_for_a_transaction_that_has_written(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The helper would not see this transaction's own writes: it must not be asked to read."""
    monkeypatch.setattr(rebuild_helper, "OFFLOAD_MIN", 0)
    with store.engine.connect() as conn:
        assert rebuild_helper.reader_url(conn) is not None
        conn.execute(MetaRow.__table__.insert().values(key="probe", value="1"))
        assert rebuild_helper.reader_url(conn) is None
        conn.rollback()
    memory = open_store("sqlite://")
    try:
        with memory.engine.connect() as conn:
            assert rebuild_helper.reader_url(conn) is None
    finally:
        memory.dispose()


def test_a_failed_rebuild_keeps_the_indexes(synced: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rebuild drops the bulk-loaded tables' indexes (SQLite): inside its transaction, so a
    rebuild that fails leaves them as they were for the incremental runs that follow."""
    store, config, now = synced
    _rebuild(store, config, now)
    before = _index_names(store)
    assert {"ix_mail_facts_thread_key", "ix_interactions_contact_key"} <= before

    def fail(*_args: Any, **_kw: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(rebuild_mod, "write_results", fail)
    with pytest.raises(RuntimeError, match="disk full"), store.session() as s:
        analyze(s, config, now=now, rebuild=True)
    assert _index_names(store) == before


def _index_names(store: Store) -> set[str]:
    from sqlalchemy import inspect

    insp = inspect(store.engine)
    return {ix["name"] for t in insp.get_table_names() for ix in insp.get_indexes(t) if ix["name"]}
