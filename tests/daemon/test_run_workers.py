"""Several `kith run` processes on one PostgreSQL database (2 workers on 5 mailboxes, 3 on 30):
one sync per mailbox at a time, takeover after SIGKILL within a lease period, and one nightly
report between them."""

from __future__ import annotations

import itertools
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from kith.store import leases
from kith.store.engine import open_store
from kith.store.models import MailboxRow, ReportRow, SyncRun
from tests.connectors.contract import messages
from tests.daemon.test_run import Kith, kiths, mailbox, stored, wait_until, write_config

pytestmark = pytest.mark.integration

LEASE = 2.0
__all__ = ["kiths"]  # the fixture, shared with test_run


def overlapping(runs: list[tuple[str, str, datetime, datetime | None]], killed_at: datetime) -> list[str]:
    """Pairs of runs of one mailbox whose [start, end] overlap (a killed worker's open run ends at the kill)."""
    bad = []
    by_mailbox: dict[str, list[tuple[datetime, datetime, str]]] = {}
    for name, worker, start, end in runs:
        by_mailbox.setdefault(name, []).append((start, end or killed_at, worker))
    for name, spans in by_mailbox.items():
        spans.sort()
        for (s1, e1, w1), (s2, e2, w2) in itertools.pairwise(spans):
            if s2 < e1:
                bad.append(f"{name}: {w1} {s1:%T.%f}-{e1:%T.%f} overlaps {w2} {s2:%T.%f}-{e2:%T.%f}")
    return bad


@pytest.mark.parametrize(
    ("workers", "count", "size"),
    [
        pytest.param(2, 5, 100, id="2-workers-5-mailboxes"),
        pytest.param(3, 30, 12, id="3-workers-30-mailboxes"),
    ],
)
def test_workers_share_mailboxes_and_take_over_from_a_killed_one(
    pg_url: str, tmp_path: Path, kiths: list[Kith], smtp_sink: object, workers: int, count: int, size: int
) -> None:
    boxes = {f"mb{i}": mailbox(tmp_path, f"mb{i}", size) for i in range(count)}
    daemon = f'lease = "{LEASE}s"\nworkers = 6\n'
    cfg = write_config(tmp_path, pg_url, {n: h.root for n, h in boxes.items()}, daemon=daemon)
    batch = 10 if size >= 50 else 4
    for name in boxes:  # small batches: each sync takes long enough for the workers to collide
        path = tmp_path / "mailboxes.d" / f"{name}.toml"
        path.write_text(path.read_text() + f'addresses = ["me@example.com"]\nbatch_size = {batch}\n')
    with cfg.open("a") as fh:  # the report is due at once: every worker tries to send it on start
        fh.write(
            f'[report]\nto = "me@example.com"\ndeliver = "smtp"\nsend_at = "00:00:00"\n'
            f'[report.smtp]\nhost = "{smtp_sink.host}"\nport = {smtp_sink.port}\ntls = "none"\n'  # type: ignore[attr-defined]
        )
    open_store(pg_url).dispose()  # migrate once up front, so all start at the same moment
    ids = [f"w{i + 1}" for i in range(workers)]
    procs = {w: Kith(cfg, env={"KITH_DAEMON__WORKER_ID": w}) for w in ids}
    kiths += list(procs.values())
    for k in procs.values():
        k.wait_for(lambda m: m.get("READY") == "1")

    def explain() -> str:
        return f"{stored(pg_url)}\n" + "\n".join(f"--- {w}\n{k.logs()[-2000:]}" for w, k in procs.items())

    wait_until(lambda: stored(pg_url)[0] == dict.fromkeys(boxes, size), timeout=30, explain=explain)

    store = open_store(pg_url, upgrade=False)

    def report_states() -> list[str]:
        with store.engine.connect() as conn:
            return list(conn.execute(select(ReportRow.status)).scalars())

    # (killing a worker while it is sending would leave the report to the ledger's 10-minute lease)
    wait_until(lambda: report_states() == ["sent"], timeout=20, explain=explain)
    # kill w1 in the middle of a sync: its lease must expire and the others must take that mailbox over
    held: set[str] = set()

    def w1_mid_sync() -> bool:
        """Mailboxes w1 is syncing right now: a run of its is open and it holds the lease."""
        leased = {n.removeprefix("mailbox:") for n, w in leases.holders(store.engine).items() if w == "w1"}
        with store.engine.connect() as conn:
            q = select(MailboxRow.name).join(SyncRun, SyncRun.mailbox_id == MailboxRow.id)
            running = set(conn.execute(q.where(SyncRun.worker == "w1", SyncRun.status == "running")).scalars())
        held.clear()
        held.update(leased & running)
        return bool(held)

    wait_until(w1_mid_sync, timeout=20)
    procs["w1"].proc.send_signal(signal.SIGKILL)
    procs["w1"].proc.wait()
    killed_at = datetime.now(UTC)
    for h in boxes.values():
        h.deliver(messages(5, prefix=f"after-{h.root.name}"))
    wait_until(lambda: stored(pg_url)[0] == dict.fromkeys(boxes, size + 5), timeout=4 * LEASE + 6, explain=explain)
    survivors = ids[1:]
    for w in survivors:
        assert procs[w].stop()[0] == 0

    with store.engine.connect() as conn:
        q = select(MailboxRow.name, SyncRun.worker, SyncRun.started_at, SyncRun.finished_at).join(
            MailboxRow, MailboxRow.id == SyncRun.mailbox_id
        )
        runs = [tuple(r) for r in conn.execute(q)]
    reports = report_states()
    store.dispose()
    assert {w for _n, w, _s, _e in runs} == set(ids), "every worker did share the work"
    assert not overlapping(runs, killed_at + timedelta(milliseconds=1))  # type: ignore[arg-type]
    after_kill = {n for n, w, s, _e in runs if w in survivors and s > killed_at}
    assert after_kill == set(boxes), "the survivors synced every mailbox after w1 died, w1's included"
    for name in held:  # w1 held these when it died: a survivor took each over within one lease period
        took = min(s for n, w, s, _e in runs if n == name and w in survivors and s > killed_at) - killed_at
        assert took < timedelta(seconds=LEASE + 1), f"{name} taken over after {took}"
    assert reports == ["sent"]
    assert len(smtp_sink.received) == 1  # type: ignore[attr-defined]
