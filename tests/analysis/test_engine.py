"""The run around the two paths: what it sets for them on PostgreSQL, and puts back."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection, text

import kith.analysis.engine as engine
from kith.analysis.api import analyze
from kith.store.engine import open_store
from tests.analysis.world import NOW, World, ago

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
