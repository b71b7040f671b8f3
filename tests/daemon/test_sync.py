"""The sync engine: contained failures, resumable batches, nothing lost or duplicated."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kith.config.mailboxes import MaildirMailbox, MboxMailbox
from kith.daemon.sync import SyncEngine
from kith.store.engine import Store, open_store
from kith.store.models import MessageLocation, MessageRow, StreamRow, SyncProblem, SyncRun
from tests.connectors.contract import messages
from tests.connectors.test_maildir import MaildirHarness


def maildir(tmp_path: Path, n: int, name: str = "Mail") -> MaildirHarness:
    h = MaildirHarness(tmp_path / name)
    h.deliver(messages(n, prefix=name))
    return h


def counts(store: Store) -> tuple[int, int]:
    with store.engine.connect() as conn:
        msgs = conn.execute(
            select(func.count()).select_from(MessageRow).where(MessageRow.deleted_at.is_(None))
        ).scalar_one()
        locs = conn.execute(select(func.count()).select_from(MessageLocation)).scalar_one()
    return int(msgs), int(locs)


def test_one_failing_mailbox_never_stops_the_others(store: Store, tmp_path: Path) -> None:
    good = maildir(tmp_path, 5)
    missing = MaildirMailbox(kind="maildir", name="gone", path=tmp_path / "nowhere")
    broken_mbox = MboxMailbox(kind="mbox", name="broken", path=tmp_path / "no.mbox")
    engine = SyncEngine(store, state_dir=tmp_path, attempts=1)
    results = engine.sync([missing, good.config(), broken_mbox])
    assert [r.status for r in results] == ["error", "ok", "error"]
    assert "does not exist" in (results[0].error or "")
    assert counts(store) == (5, 5)
    with store.engine.connect() as conn:
        runs = dict(conn.execute(select(SyncRun.status, func.count()).group_by(SyncRun.status)).all())
    assert runs == {"error": 2, "ok": 1}


def test_bad_messages_are_recorded_and_skipped(store: Store, tmp_path: Path) -> None:
    h = maildir(tmp_path, 4)
    (h.root / "cur" / "garbage:2,S").write_bytes(b"\x00\x01\x02 not mail")
    (h.root / "cur" / "nodate:2,S").write_bytes(b"From: =?bogus?q?X?= <x@y.z>\nSubject: no date\n\n")
    result = SyncEngine(store, state_dir=tmp_path).sync_mailbox(h.config())
    assert result.status == "ok"
    assert counts(store) == (5, 5)
    with store.engine.connect() as conn:
        assert conn.execute(select(SyncProblem.provider_key)).scalars().all() == ["garbage"]
        problems = conn.execute(select(MessageRow.problems).where(MessageRow.subject == "no date")).scalar_one()
    assert any("Date" in p for p in problems) and any("charset" in p for p in problems)


def test_full_resync_and_moves_leave_one_message(store: Store, tmp_path: Path) -> None:
    h = maildir(tmp_path, 6)
    engine = SyncEngine(store, state_dir=tmp_path)
    engine.sync_mailbox(h.config())
    # move one message to Sent (delete here, add there) and resync everything twice
    path = h.files["<Mail2@contract.test>"]
    os.rename(path, h.root / ".Sent" / "cur" / path.name)
    engine.sync_mailbox(h.config(), full=True)
    engine.sync_mailbox(h.config(), full=True)
    assert counts(store) == (6, 6)
    with store.engine.connect() as conn:
        per_stream = dict(
            conn.execute(select(StreamRow.name, func.count()).join(MessageLocation).group_by(StreamRow.name)).all()
        )
    assert per_stream == {"INBOX": 5, "Sent": 1}


def test_stop_event_abandons_cleanly_between_batches(store: Store, tmp_path: Path) -> None:
    h = maildir(tmp_path, 50)
    engine = SyncEngine(store, state_dir=tmp_path)
    seen = []

    def progress(mailbox: str, stream: str, n: int) -> None:
        seen.append(n)
        engine.stop.set()

    engine.progress = progress
    cfg = h.config(batch_size=10)
    result = engine.sync_mailbox(cfg)
    assert result.status == "aborted" or seen == [10]
    assert counts(store) == (10, 10)
    engine.stop.clear()
    engine.progress = None
    engine.sync_mailbox(cfg)
    assert counts(store) == (50, 50)


@pytest.mark.integration
@pytest.mark.slow
def test_sigkill_at_random_moments_loses_and_duplicates_nothing(store_url: str, tmp_path: Path) -> None:
    n = 3000
    h = maildir(tmp_path, n)
    (tmp_path / "mailboxes.d").mkdir()
    (tmp_path / "kith.toml").write_text(f'[database]\nurl = "{store_url}"\n')
    (tmp_path / "mailboxes.d" / "local.toml").write_text(f'kind = "maildir"\npath = "{h.root}"\nbatch_size = 50\n')
    cmd = [sys.executable, "-m", "kith", "--config", str(tmp_path / "kith.toml"), "-q", "sync", "--json"]
    env = {**os.environ, "KITH_STATE_DIR": str(tmp_path / "state")}
    rng = random.Random(7)
    store = open_store(store_url)
    kills = 0
    for _ in range(6):
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.3, 1.5))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert kills >= 1, "the sync finished before any kill: make the mailbox bigger"
    assert counts(store) == (n, n)
    store.dispose()
