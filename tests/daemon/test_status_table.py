"""`kith status` (the table): the daemon's schedule as well as the sync results.

Next run, failures in a row and the worker syncing each mailbox right now come from the same
``mailbox_status`` data as ``kith status --json``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from kith.cli.common import console
from kith.store import daemons, leases
from kith.store.engine import open_store, sqlite_url
from kith.store.models import MailboxRow, utcnow
from tests.daemon.test_run import cli, mailbox, write_config


def test_status_table_shows_next_run_failures_and_the_worker_syncing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = sqlite_url(tmp_path / "kith.db")
    boxes = {name: mailbox(tmp_path, name).root for name in ("alpha", "beta", "gamma")}
    cfg = write_config(tmp_path, url, {**boxes, "broken": tmp_path / "missing"})
    assert cli("--config", str(cfg), "sync").exit_code != 0  # "broken" fails; the others are synced
    store = open_store(url, upgrade=False)
    now = utcnow()
    with store.engine.begin() as conn:
        for name, when, failures in (
            ("alpha", now + timedelta(minutes=4, seconds=30), 0),
            ("beta", now - timedelta(minutes=12), 0),
            ("broken", now + timedelta(hours=1, minutes=5), 3),
        ):
            conn.execute(update(MailboxRow).where(MailboxRow.name == name).values(next_run_at=when, failures=failures))
    assert leases.acquire(store.engine, leases.mailbox_lease("gamma"), "host-b:4242", timedelta(minutes=1))
    daemons.beat(store.engine, "host-b:4242", timedelta(minutes=1))  # a daemon runs: next runs mean something
    store.dispose()
    monkeypatch.setattr(console, "_width", 250)  # one line per row, however narrow the test's terminal

    out = cli("--config", str(cfg), "status")
    assert out.exit_code == 0, out.output
    header = next(line for line in out.stdout.splitlines() if "mailbox" in line and "stream" in line)
    for column in ("next run", "failures", "syncing on"):
        assert column in header
    rows = {line.split()[0]: line for line in out.stdout.splitlines() if "(maildir)" in line}
    assert "in 4m" in rows["alpha"] and "host-b:4242" not in rows["alpha"]
    assert "overdue 12m" in rows["beta"]
    assert "in 1h0" in rows["broken"] and " 3 " in rows["broken"]
    assert "host-b:4242" in rows["gamma"] and "not scheduled" in rows["gamma"]
