"""The run around the two paths: what it sets for them on PostgreSQL, and puts back."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, text

import kith.analysis.engine as engine
import kith.analysis.incremental as incremental_mod
from kith.analysis.api import analyze, dismiss, flags, snooze
from kith.store.engine import Store, open_store
from tests.analysis.world import ME, NOW, World, ago

ANN = "ann@client.example"

pytestmark = pytest.mark.integration


def test_an_incremental_run_on_postgresql_reads_without_jit_and_puts_it_back(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(pg_url)
    w = World(store)
    w.mail(ANN, when=ago(5))
    w.analyze(rebuild=True)
    w.mail(ANN, when=ago(4))
    seen: list[str] = []
    incremental = engine.incremental

    def spy(conn: Connection, *args: Any) -> dict[str, int]:
        seen.append(conn.execute(text("SELECT current_setting('jit')")).scalar_one())
        return incremental(conn, *args)

    monkeypatch.setattr(engine, "incremental", spy)
    with w.store.session() as s:
        conn = s.connection()
        conn.execute(text("SET LOCAL jit = on"))
        assert analyze(s, w.config, now=NOW)["mode"] == "incremental"
        assert conn.execute(text("SELECT current_setting('jit')")).scalar_one() == "on"
    assert seen == ["off"]
    store.dispose()


def test_a_flag_snoozed_while_a_rebuild_derives_still_resolves_with_its_reason(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rebuild reads the stored flag keys once, early; a user may change a flag's state in
    between (here: snooze a dismissed one), so the keys it keeps cannot depend on the state."""
    import kith.analysis.rebuild_derive as rebuild_derive

    store = open_store(pg_url)
    w = World(store)
    q = w.mail(ANN, when=ago(5))
    (f,) = w.open_flags("unanswered")
    with store.session() as s:
        dismiss(s, f["id"], now=NOW)
    w.mail(ME, (ANN,), when=ago(1), reply_to_msg=q, subject="Re: hello")
    keys = rebuild_derive.stored_flag_keys

    def then_snoozed(conn: Connection) -> set[str]:
        found = keys(conn)
        with store.session() as other:  # committed while the rebuild runs
            snooze(other, f["id"], NOW + timedelta(days=3), now=NOW)
        return found

    monkeypatch.setattr(rebuild_derive, "stored_flag_keys", then_snoozed)
    w.analyze(rebuild=True)
    with store.session() as s:
        (r,) = flags(s, state="resolved", now=NOW)
    assert r["id"] == f["id"] and "answered in the thread" in r["reason"]
    store.dispose()


def test_a_sync_that_commits_while_the_analysis_runs_stays_queued(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two syncs, the first still open: the second's queue entry gets the later id and commits
    first. The analysis must take only the entries it saw; the first sync's, committed while it
    ran (and under its highest id), is the next run's work, not lost."""
    store = open_store(pg_url)
    w = World(store)
    w.mail(ANN, when=ago(9))
    w.analyze(rebuild=True)
    w.stream()  # the streams exist before the slow sync opens its transaction
    with store.engine.connect() as slow:
        tx = slow.begin()
        w.mail("bob@client.example", when=ago(5), conn=slow)  # queued, not committed yet
        w.mail("carol@client.example", when=ago(4))  # a later queue id, committed
        history = incremental_mod.contact_history

        def then_committed(*args: Any) -> Any:  # the run has taken its queue by now
            tx.commit()
            return history(*args)

        monkeypatch.setattr(incremental_mod, "contact_history", then_committed)
        assert w.analyze()["mode"] == "incremental"
    monkeypatch.undo()
    assert "bob@client.example" not in w.contacts()  # not seen by that run ...
    w.analyze()
    assert "bob@client.example" in w.contacts()  # ... but by the next
    store.dispose()


def test_a_sqlite_without_returning_takes_its_queue_too(sqlite_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before 3.35 SQLite has no DELETE .. RETURNING: the queue is read, then deleted up to the
    highest id read (writers take turns there, so nothing can commit under it meanwhile)."""
    w = World(sqlite_store)
    w.mail(ANN, when=ago(9))
    w.analyze(rebuild=True)
    w.mail("bob@client.example", when=ago(5))
    monkeypatch.setattr(sqlite_store.engine.dialect, "delete_returning", False)
    assert w.analyze()["mode"] == "incremental"
    assert "bob@client.example" in w.contacts()
    with sqlite_store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM analysis_queue")).scalar_one() == 0


def test_a_sync_that_commits_while_a_rebuild_derives_stays_queued(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """As above, for a rebuild: the entry of a sync that commits after the rebuild has read the
    store is the next run's work."""
    import kith.analysis.rebuild as rebuild_mod

    store = open_store(pg_url)
    w = World(store)
    w.mail(ANN, when=ago(9))
    w.analyze(rebuild=True)
    w.stream()
    with store.engine.connect() as slow:
        tx = slow.begin()
        w.mail("bob@client.example", when=ago(5), conn=slow)
        w.mail("carol@client.example", when=ago(4))
        derive = rebuild_mod.derive

        def then_committed(*args: Any, **kwargs: Any) -> Any:
            yield from derive(*args, **kwargs)  # everything read and derived
            tx.commit()

        monkeypatch.setattr(rebuild_mod, "derive", then_committed)
        w.analyze(rebuild=True)
    monkeypatch.undo()
    assert "bob@client.example" not in w.contacts()
    w.analyze()
    assert "bob@client.example" in w.contacts()
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM analysis_queue")).scalar_one() == 0
    store.dispose()


def test_a_run_that_fails_leaves_the_queue_as_it_was(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    w = World(store)
    w.mail(ANN, when=ago(9))
    w.analyze(rebuild=True)
    w.mail("bob@client.example", when=ago(5))

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the write broke")

    # (a rule that breaks fails only its contact: kith.analysis.evaluate.evaluate_isolated)
    monkeypatch.setattr(incremental_mod, "write_results", broken)
    with pytest.raises(RuntimeError):
        w.analyze()
    monkeypatch.undo()
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM analysis_queue")).scalar_one() == 1
    w.analyze()
    assert "bob@client.example" in w.contacts()
