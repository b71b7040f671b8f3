"""A Dovecot restarted in the middle of a sync: the sync fails over to a retry, nothing is lost or doubled.

Runs its own server (the session one is shared by the other tests), stops it while the first sync
is between batches, starts it again on the same ports and syncs once more.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from kith.daemon.sync import SyncEngine
from kith.store.engine import Store
from tests.connectors.contract import messages
from tests.connectors.imap.harness import ImapHarness
from tests.connectors.imap.test_imap import counts
from tests.fixtures.dovecot import _serve

pytestmark = pytest.mark.integration


def test_server_restart_during_sync(tmp_path: Path, sqlite_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from kith.connectors.imap import pipeline

    # one batch fetched, one stored: the fetch-ahead thread could otherwise hold the rest already
    monkeypatch.setattr(pipeline, "PARALLEL_MIN", 10**9)
    with contextmanager(_serve)() as server:
        harness = ImapHarness(server, tmp_path)
        n = 1500
        server.seed(harness.user, (m.as_bytes() for m in messages(n, "restart")), folder=harness.FOLDER)
        cfg = harness.config(folders=(harness.FOLDER,), batch_size=50, timeout="5s")
        engine = SyncEngine(sqlite_store, state_dir=tmp_path, attempts=1)
        result: dict[str, object] = {}
        first = threading.Thread(target=lambda: result.update(r=engine.sync_mailbox(cfg)))
        first.start()
        deadline = time.monotonic() + 30
        while counts(sqlite_store)[0] < 100 and time.monotonic() < deadline:
            time.sleep(0.01)
        # mid-sync: some batches are in, most are not. Sessions first (they outlive their master
        # process), then the server itself.
        server.kill_sessions(harness.user)
        server.stop()
        first.join(60)
        stored = counts(sqlite_store)[0]
        assert 0 < stored < n, "the restart should land mid-sync"
        assert getattr(result["r"], "status", None) in ("partial", "error")
        server.start()
        second = engine.sync_mailbox(cfg)
        assert second.status == "ok", second.error
        assert second.upserts == n - stored, "the resumed sync re-fetched or skipped messages"
        assert counts(sqlite_store) == (n, n)
