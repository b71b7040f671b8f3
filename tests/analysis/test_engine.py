"""The run around the two paths: what it sets for them on PostgreSQL, and puts back."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, text

import kith.analysis.engine as engine
from kith.analysis.api import analyze, dismiss, flags, snooze
from kith.store.engine import open_store
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
    incremental = engine._incremental

    def spy(conn: Connection, *args: Any) -> dict[str, int]:
        seen.append(conn.execute(text("SELECT current_setting('jit')")).scalar_one())
        return incremental(conn, *args)

    monkeypatch.setattr(engine, "_incremental", spy)
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
    import kith.analysis.derive as derive

    store = open_store(pg_url)
    w = World(store)
    q = w.mail(ANN, when=ago(5))
    (f,) = w.open_flags("unanswered")
    with store.session() as s:
        dismiss(s, f["id"], now=NOW)
    w.mail(ME, (ANN,), when=ago(1), reply_to_msg=q, subject="Re: hello")
    keys = derive.stored_flag_keys

    def then_snoozed(conn: Connection) -> set[str]:
        found = keys(conn)
        with store.session() as other:  # committed while the rebuild runs
            snooze(other, f["id"], NOW + timedelta(days=3), now=NOW)
        return found

    monkeypatch.setattr(derive, "stored_flag_keys", then_snoozed)
    w.analyze(rebuild=True)
    with store.session() as s:
        (r,) = flags(s, state="resolved", now=NOW)
    assert r["id"] == f["id"] and "answered in the thread" in r["reason"]
    store.dispose()
