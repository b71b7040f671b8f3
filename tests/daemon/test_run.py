"""`kith run` as a real process: sd_notify, signals, reload, backoff, a hung mailbox.

Each test starts the daemon with ``python -m kith run`` under a test ``$NOTIFY_SOCKET`` (a unix
datagram socket the test reads, as systemd would) against small Maildirs on SQLite.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from imapclient import IMAPClient
from sqlalchemy import create_engine, func, select
from typer.testing import CliRunner, Result

from kith.cli import app
from kith.config.secrets import write_private
from kith.daemon.run import STOP_GRACE
from kith.store.engine import open_store, sqlite_url
from kith.store.models import MailboxRow, MessageLocation, MessageRow, SyncRun
from tests.connectors.contract import messages
from tests.connectors.test_maildir import MaildirHarness
from tests.fixtures import free_port
from tests.fixtures.dovecot import PASSWORD, Dovecot
from tests.fixtures.silent import SilentServer

pytestmark = pytest.mark.integration

Msg = dict[str, str]


def write_config(root: Path, db_url: str, mailboxes: dict[str, Path], daemon: str = "") -> Path:
    (root / "mailboxes.d").mkdir(parents=True, exist_ok=True)
    for f in (root / "mailboxes.d").glob("*.toml"):
        f.unlink()
    (root / "kith.toml").write_text(
        f'state_dir = "{root / "state"}"\n[database]\nurl = "{db_url}"\n'
        f'[daemon]\ndefault_poll_interval = "0.5s"\njitter = 0.1\nmax_backoff = "1m"\n{daemon}'
    )
    for name, path in mailboxes.items():
        (root / "mailboxes.d" / f"{name}.toml").write_text(f'kind = "maildir"\npath = "{path}"\n')
    return root / "kith.toml"


def mailbox(root: Path, name: str, n: int = 3) -> MaildirHarness:
    h = MaildirHarness(root / name)
    h.deliver(messages(n, prefix=name))
    return h


class Kith:
    """One `kith run` process and the notify socket it reports to."""

    def __init__(
        self,
        config: Path,
        *,
        watchdog_usec: int = 400_000,
        env: dict[str, str] | None = None,
        command: list[str] | None = None,
        base_env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        """``command`` (default ``python -m kith --config CONFIG run``) with ``base_env`` (default
        this process's, less what would point it elsewhere) plus ``env`` and the notify socket."""
        self.dir = tempfile.mkdtemp(prefix="kr")  # short: unix socket paths max out at 107 bytes
        self.sock_path = os.path.join(self.dir, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.sock_path)
        self.messages: list[Msg] = []
        self.log_path = config.parent / f"kith-{len(list(config.parent.glob('kith-*.log')))}.log"
        if base_env is None:
            base_env = {
                k: v for k, v in os.environ.items() if k not in {"JOURNAL_STREAM", "INVOCATION_ID", "KITH_CONFIG"}
            }
        full_env = {**base_env, "NOTIFY_SOCKET": self.sock_path, "WATCHDOG_USEC": str(watchdog_usec), **(env or {})}
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            command or [sys.executable, "-m", "kith", "--config", str(config), "run"],
            cwd=cwd,
            env=full_env,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )

    def read(self, timeout: float) -> Msg | None:
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536).decode()
        except TimeoutError:
            return None
        msg = dict(line.split("=", 1) for line in data.splitlines() if "=" in line)
        self.messages.append(msg)
        return msg

    def wait_for(self, pred: Callable[[Msg], bool], timeout: float = 15.0, what: str = "") -> Msg:
        for msg in self.messages:
            if pred(msg):
                return msg
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"kith run exited {self.proc.returncode}:\n{self.logs()}"
            msg = self.read(min(0.5, max(0.01, deadline - time.monotonic())))
            if msg is not None and pred(msg):
                return msg
        raise AssertionError(f"no notify message {what} within {timeout}s; got {self.messages[-5:]}\n{self.logs()}")

    def status(self, text: str, timeout: float = 15.0) -> Msg:
        return self.wait_for(lambda m: text in m.get("STATUS", ""), timeout, f"STATUS containing {text!r}")

    def drain(self, seconds: float) -> list[Msg]:
        start, end = len(self.messages), time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self.read(left)
        return self.messages[start:]

    def kill(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_GRACE + 10) -> tuple[int, float]:
        started = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        finally:
            self.drain(0.05)
            self.sock.close()
            self.log.close()
            os.unlink(self.sock_path)
            os.rmdir(self.dir)
        return code, time.monotonic() - started

    def logs(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def kiths() -> object:
    started: list[Kith] = []
    yield started
    for k in started:
        if k.proc.poll() is None:
            k.proc.kill()
            k.proc.wait()


def stored(url: str) -> tuple[dict[str, int], dict[str, int]]:
    """(messages per mailbox, failures per mailbox)."""
    store = open_store(url, upgrade=False)
    try:
        if not store.has_schema():  # the daemon has not created it yet
            return {}, {}
        with store.engine.connect() as conn:
            msgs = dict(
                conn.execute(
                    select(MailboxRow.name, func.count(MessageRow.id))
                    .join(MessageRow, MessageRow.mailbox_id == MailboxRow.id)
                    .group_by(MailboxRow.name)
                ).all()
            )
            failures = dict(conn.execute(select(MailboxRow.name, MailboxRow.failures)).all())
    finally:
        store.dispose()
    return msgs, failures


def cli(*args: str) -> Result:
    """`kith` in-process; the root logger's handlers are put back (the CLI points them at a
    captured stream that is closed afterwards, and later threads would log into it)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        return CliRunner().invoke(app, list(args))
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def wait_until(
    check: Callable[[], bool], timeout: float = 15.0, *, explain: Callable[[], str] = str, every: float = 0.1
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"condition not met within {timeout}s {explain()}"
        time.sleep(every)


def test_notify_backoff_new_mail_metrics_status_and_clean_sigterm(tmp_path: Path, kiths: list[Kith]) -> None:
    url = sqlite_url(tmp_path / "kith.db")
    good = mailbox(tmp_path, "good")
    port = free_port()
    cfg = write_config(
        tmp_path, url, {"good": good.root, "bad": tmp_path / "missing"}, daemon=f"metrics_port = {port}\n"
    )
    k = Kith(cfg)
    kiths.append(k)
    ready = k.wait_for(lambda m: m.get("READY") == "1", what="READY=1")
    assert ready["MAINPID"] == str(k.proc.pid) and "2 mailboxes" in ready["STATUS"]
    k.status("backing off bad")
    pings = [m for m in k.drain(1.2) if m.get("WATCHDOG") == "1"]
    assert len(pings) >= 3, "WATCHDOG=1 about every half WATCHDOG_USEC from a healthy loop"
    good.deliver(messages(2, prefix="late"))
    wait_until(lambda: stored(url)[0].get("good") == 5)
    _msgs, failures = stored(url)
    assert failures["good"] == 0 and failures["bad"] >= 1
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert 'kith_syncs_total{mailbox="good",status="ok"}' in metrics
    assert re.search(r'kith_sync_errors_total\{mailbox="bad"\} [1-9]', metrics)
    assert re.search(r'kith_mailbox_lag_seconds\{mailbox="good"\} \d', metrics)
    assert re.search(r'kith_mailbox_failures\{mailbox="bad"\} [1-9]', metrics)
    assert "process_resident_memory_bytes" in metrics
    status = cli("--config", str(cfg), "status", "--json")
    data = json.loads(status.stdout)
    assert [w["worker"] for w in data["daemon"]["running"]], "the running daemon's heartbeat"
    by_name = {m["name"]: m for m in data["mailboxes"]}
    assert by_name["bad"]["failures"] >= 1 and by_name["bad"]["next_run_in_seconds"] is not None
    assert by_name["good"]["lag_seconds"] is not None and by_name["good"]["state"] in ("ok", "syncing")
    code, took = k.stop()
    assert code == 0, k.logs()
    # the promise is "within STOP_GRACE, well inside TimeoutStopSec", not a speed on a loaded machine
    assert took < STOP_GRACE
    assert any(m.get("STOPPING") == "1" for m in k.messages)
    assert "Traceback" not in k.logs()
    store = open_store(url, upgrade=False)
    with store.engine.connect() as conn:
        assert "running" not in conn.execute(select(SyncRun.status)).scalars().all()
    store.dispose()


def test_sighup_adds_and_removes_mailboxes_and_keeps_the_old_config_when_broken(
    tmp_path: Path, kiths: list[Kith]
) -> None:
    url = sqlite_url(tmp_path / "kith.db")
    a, b = mailbox(tmp_path, "a", 2), mailbox(tmp_path, "b", 4)
    cfg = write_config(tmp_path, url, {"a": a.root})
    k = Kith(cfg)
    kiths.append(k)
    k.wait_for(lambda m: m.get("READY") == "1")
    wait_until(lambda: stored(url)[0] == {"a": 2})
    write_config(tmp_path, url, {"a": a.root, "b": b.root})
    k.kill(signal.SIGHUP)
    k.wait_for(lambda m: m.get("RELOADING") == "1", what="RELOADING=1")
    k.status("reloaded; 2 mailboxes")
    wait_until(lambda: stored(url)[0] == {"a": 2, "b": 4})
    (tmp_path / "mailboxes.d" / "c.toml").write_text('kind = "maildir"\npath = "/x"\npoll_intervall = "5m"\n')
    k.kill(signal.SIGHUP)
    k.status("reload failed, old config kept")
    wait_until(lambda: "c.toml: poll_intervall: unknown key" in k.logs())
    k.status("2 mailboxes;")
    write_config(tmp_path, url, {"b": b.root})
    k.kill(signal.SIGHUP)
    k.status("reloaded; 1 mailbox")  # not "1 mailboxes"
    for _ in range(30):  # a burst of signals at random points of the loop never wedges it
        k.kill(signal.SIGHUP)
        time.sleep(0.01)
    k.drain(0.5)
    assert sum(m.get("WATCHDOG") == "1" for m in k.drain(1.0)) >= 2, k.logs()
    assert k.stop()[0] == 0
    assert "removed: a" in k.logs()


def test_a_hung_mailbox_does_not_stop_the_watchdog_or_the_others(
    tmp_path: Path, kiths: list[Kith], silent_server: SilentServer
) -> None:
    url = sqlite_url(tmp_path / "kith.db")
    good = mailbox(tmp_path, "good")
    cfg = write_config(tmp_path, url, {"good": good.root}, daemon='sync_timeout = "1s"\n')
    write_private(tmp_path / "stuck.pw", "x")
    (tmp_path / "mailboxes.d" / "stuck.toml").write_text(  # a server that stopped answering
        f'kind = "imap"\nhost = "{silent_server.host}"\nport = {silent_server.port}\ntls = "none"\n'
        f'username = "stuck"\npassword_file = "{tmp_path / "stuck.pw"}"\ntimeout = "5m"\nidle = false\n'
    )
    k = Kith(cfg)
    kiths.append(k)
    k.status("stuck stuck")
    good.deliver(messages(1, prefix="more"))
    wait_until(lambda: stored(url)[0].get("good") == 4)
    pings = [m for m in k.drain(1.0) if m.get("WATCHDOG") == "1"]
    assert len(pings) >= 2
    assert "abandoned" in k.logs()
    code, took = k.stop()
    assert code == 0 and took < STOP_GRACE, k.logs()


def test_broken_config_at_start_exits_78(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, sqlite_url(tmp_path / "kith.db"), {})
    (tmp_path / "mailboxes.d" / "bad.toml").write_text('kind = "maildir"\n')
    done = cli("--config", str(cfg), "run")
    assert done.exit_code == 78 and "bad.toml: path" in done.stderr


def test_imap_idle_wakes_the_daemon_long_before_the_poll_interval(
    tmp_path: Path, kiths: list[Kith], dovecot: Dovecot
) -> None:
    user = dovecot.new_user("idle")
    write_private(tmp_path / "imap.pw", PASSWORD)
    dovecot.seed(user, [m.as_bytes() for m in messages(3, prefix="seed")])
    url = sqlite_url(tmp_path / "kith.db")
    cfg = write_config(tmp_path, url, {})
    (tmp_path / "mailboxes.d" / "work.toml").write_text(
        f'kind = "imap"\nhost = "{dovecot.host}"\nport = {dovecot.port}\ntls = "none"\nusername = "{user}"\n'
        f'password_file = "{tmp_path / "imap.pw"}"\npoll_interval = "1h"\nidle = true\n'
    )
    k = Kith(cfg)
    kiths.append(k)
    wait_until(lambda: stored(url)[0].get("work") == 3, explain=k.logs)
    time.sleep(0.5)  # let the watcher enter IDLE
    client = IMAPClient(dovecot.host, port=dovecot.port, ssl=False, timeout=10)
    client.login(user, PASSWORD)
    client.append("INBOX", messages(1, prefix="pushed")[0].as_bytes())
    client.logout()
    landed = time.monotonic()
    wait_until(lambda: stored(url)[0].get("work") == 4, timeout=120, explain=k.logs)
    latency = time.monotonic() - landed
    print(f"IDLE latency {latency:.2f}s")
    # the poll is hourly: anything well under that was IDLE, however loaded the machine
    assert latency < 120, "IDLE, not the 1 h poll, brought the new message in"
    code, took = k.stop()
    assert code == 0 and took < STOP_GRACE, k.logs()


def test_a_stuck_main_loop_stops_the_watchdog(pg_url: str, tmp_path: Path, kiths: list[Kith]) -> None:
    """The loop blocks on locked tables: pings stop (systemd would restart us), then resume."""
    good = mailbox(tmp_path, "good")
    # a short lease: the loop renews it every 0.5 s, so it touches the locked tables even mid-sync
    cfg = write_config(tmp_path, pg_url, {"good": good.root}, daemon='lease = "1.5s"\n')
    k = Kith(cfg, watchdog_usec=200_000)
    kiths.append(k)
    wait_until(lambda: stored(pg_url)[0].get("good") == 3, explain=k.logs)
    blocker = create_engine(pg_url).connect()
    # every statement on these tables now waits: the schedule re-check and the lease of the next poll
    blocker.exec_driver_sql("LOCK TABLE mailboxes, leases IN ACCESS EXCLUSIVE MODE")
    try:
        # the loop runs on until it renews a lease or starts the next poll (every 0.5 s), later on
        # a loaded machine: wait (up to 30 s) for a 1.2 s stretch without a ping (six missed)
        deadline = time.monotonic() + 30
        frozen = [m for m in k.drain(1.2) if m.get("WATCHDOG") == "1"]
        while frozen and time.monotonic() < deadline:
            frozen = [m for m in k.drain(1.2) if m.get("WATCHDOG") == "1"]
    finally:
        blocker.rollback()
        blocker.close()
    assert frozen == [], "no WATCHDOG=1 while the main loop is stuck"
    k.wait_for(lambda m: m.get("WATCHDOG") == "1", timeout=30, what="WATCHDOG=1 again")
    assert k.stop()[0] == 0


#: Big enough that a sync in batches of 5 outlasts the SIGTERM (and parses in the helper process).
BIG = 3000


def test_sigterm_mid_sync_exits_cleanly_and_the_restart_loses_and_duplicates_nothing(
    tmp_path: Path, kiths: list[Kith]
) -> None:
    url = sqlite_url(tmp_path / "kith.db")
    big = mailbox(tmp_path, "big", BIG)
    cfg = write_config(tmp_path, url, {"big": big.root})
    with (tmp_path / "mailboxes.d" / "big.toml").open("a") as fh:
        fh.write("batch_size = 5\n")
    k = Kith(cfg)
    kiths.append(k)
    k.status("syncing big")
    wait_until(lambda: stored(url)[0].get("big", 0) > 0, timeout=10)
    code, took = k.stop()
    assert code == 0 and took < STOP_GRACE, k.logs()
    partial = stored(url)[0].get("big", 0)
    assert partial < BIG, "stopped mid-sync (make the mailbox bigger if this fails)"
    store = open_store(url, upgrade=False)
    with store.engine.connect() as conn:
        assert conn.execute(select(SyncRun.status)).scalars().all() == ["aborted"]
    k2 = Kith(cfg)
    kiths.append(k2)
    wait_until(lambda: stored(url)[0].get("big") == BIG, timeout=20, explain=k2.logs)
    assert k2.stop()[0] == 0
    with store.engine.connect() as conn:
        locations = conn.execute(select(func.count()).select_from(MessageLocation)).scalar_one()
    store.dispose()
    assert locations == BIG, "every message once, in its one folder"
