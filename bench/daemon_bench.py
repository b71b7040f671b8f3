"""`kith run` as it lives under systemd: the cost of an idle daemon and the latency of IMAP IDLE.

- **idle**: one ``kith run`` process with 20 small mailboxes on SQLite, nothing arriving: half
  IMAP with ``idle = true`` against a real Dovecot (one user each), half Maildir (``--imap``
  sets the split; all Maildir without Dovecot), all polled at a realistic interval for an idle
  daemon (``--poll``, default 5 min, jitter 0.1). Once the initial syncs are done, utime+stime
  of the whole process (every thread) from ``/proc/PID/stat`` are read before and after a
  window (~60 s with ``--quick``, ~180 s otherwise) and scaled to CPU seconds per hour; RSS is
  ``VmRSS`` at the end (``VmHWM``: the peak, initial sync included). Targets (issue 28):
  < 2 CPU-s/h, < 120 MB.
- **IDLE latency**: a real Dovecot (``tests/fixtures/dovecot.py``), one IMAP mailbox with
  ``idle = true`` and a 1 h poll. Each trial APPENDs one message to the INBOX with imapclient and
  times from just before the APPEND until the message is a row in the store (polled every 10 ms).
  Median of ``--trials`` (default 10). Target: < 1 s.

``python -m bench daemon --quick``; writes bench/results/daemon.json.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from bench.common import write_result

ROOT = Path(__file__).resolve().parent.parent
MAILBOXES = 20
PER_MAILBOX = 25
#: Seconds for the daemon to take in the spread schedule after SIGHUP and finish its first analysis.
REFRESH = 5.0
TICKS = os.sysconf("SC_CLK_TCK")


def message(i: int, prefix: str) -> bytes:
    m = EmailMessage()
    m["From"] = f"Person {i % 17} <p{i % 17}@example.org>"
    m["To"] = "me@example.com"
    m["Subject"] = f"{prefix} {i}"
    m["Date"] = format_datetime(datetime.fromtimestamp(time.time() - 3600 * i, UTC))
    m["Message-ID"] = make_msgid(f"{prefix}{i}", "bench.test")
    m.set_content(f"message {i}\n")
    return m.as_bytes()


def make_maildir(path: Path, n: int, prefix: str) -> None:
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (path / "cur" / f"1700000000.M{i}P1.bench:2,S").write_bytes(message(i, prefix))


def write_config(root: Path, db: Path, daemon: str, mailboxes: dict[str, str]) -> Path:
    (root / "mailboxes.d").mkdir(parents=True, exist_ok=True)
    (root / "kith.toml").write_text(
        f'state_dir = "{root / "state"}"\n[database]\nurl = "sqlite:///{db}"\n[daemon]\n{daemon}'
    )
    for name, body in mailboxes.items():
        (root / "mailboxes.d" / f"{name}.toml").write_text(body)
    return root / "kith.toml"


def start_daemon(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in {"NOTIFY_SOCKET", "WATCHDOG_USEC", "KITH_CONFIG"}}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    with log.open("wb") as fh:
        return subprocess.Popen(
            [sys.executable, "-m", "kith", "--config", str(config), "run"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=fh,
        )


def stop_daemon(proc: subprocess.Popen[bytes]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


def count(db: Path, sql: str, *params: object) -> int:
    """One count from the daemon's SQLite database (0 while the schema is not there yet)."""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute(sql, params).fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def wait_until(check: Any, timeout: float, proc: subprocess.Popen[bytes], log: Path, step: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if proc.poll() is not None:
            raise RuntimeError(f"kith run exited {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout}s:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(step)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14 and 15)


def memory_mb(pid: int) -> dict[str, float]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = round(int(value.split()[0]) / 1024, 1)
    return out


def stagger(db: Path, poll: float) -> None:
    """Spread the next polls evenly over one interval, as jitter does after a while.

    Right after start every mailbox was synced at once, so a window shorter than the interval
    would see no poll at all; spread out, it sees its fair share (window / interval of them).
    """
    from sqlalchemy import update

    from kith.store.engine import open_store, sqlite_url
    from kith.store.models import MailboxRow, utcnow

    store = open_store(sqlite_url(db), upgrade=False)
    try:
        with store.engine.begin() as conn:
            names = [r.name for r in conn.execute(MailboxRow.__table__.select().order_by(MailboxRow.name))]
            now = utcnow()
            for i, name in enumerate(names):
                when = now + timedelta(seconds=poll * (i + 0.5) / len(names))
                conn.execute(update(MailboxRow).where(MailboxRow.name == name).values(next_run_at=when))
    finally:
        store.dispose()


# -- (a) the idle daemon ----------------------------------------------------------------------------


def idle(work: Path, *, window: float, poll: float, mailboxes: int, imap: int) -> dict[str, Any]:
    with contextlib.ExitStack() as stack:
        server = None
        if imap:
            sys.path.insert(0, str(ROOT))
            from tests.fixtures.dovecot import DOVECOT, Dovecot

            if DOVECOT is None:
                imap = 0
            else:
                server_root = work / "dovecot-idle"
                server_root.mkdir(parents=True)
                os.chmod(work, 0o755)
                server = stack.enter_context(Dovecot(server_root))
        return _idle(work, server, window=window, poll=poll, mailboxes=mailboxes, imap=imap)


def _idle(work: Path, server: Any, *, window: float, poll: float, mailboxes: int, imap: int) -> dict[str, Any]:
    from kith.config.secrets import write_private

    root = work / "idle"
    db = root / "kith.db"
    boxes = {}
    root.mkdir(parents=True, exist_ok=True)
    for i in range(mailboxes):
        if i < imap:
            from tests.fixtures.dovecot import PASSWORD

            user = server.new_user(f"idle{i:02d}")
            server.seed(user, [message(j, f"mb{i}") for j in range(PER_MAILBOX)])
            write_private(root / f"imap{i}.pw", PASSWORD)
            boxes[f"mb{i:02d}"] = (
                f'kind = "imap"\nhost = "{server.host}"\nport = {server.port}\ntls = "none"\nusername = "{user}"\n'
                f'password_file = "{root / f"imap{i}.pw"}"\nidle = true\naddresses = ["me@example.com"]\n'
            )
            continue
        path = root / "mail" / f"mb{i:02d}"
        make_maildir(path, PER_MAILBOX, f"mb{i}")
        boxes[f"mb{i:02d}"] = f'kind = "maildir"\npath = "{path}"\naddresses = ["me@example.com"]\n'
    cfg = write_config(root, db, f'default_poll_interval = "{poll:g}s"\njitter = 0.1\n', boxes)
    log = root / "kith.log"
    proc = start_daemon(cfg, log)
    try:
        started = time.monotonic()
        wait_until(lambda: count(db, "SELECT count(*) FROM messages") == mailboxes * PER_MAILBOX, 120, proc, log)
        wait_until(lambda: count(db, "SELECT count(*) FROM sync_runs WHERE status = 'running'") == 0, 60, proc, log)
        initial = time.monotonic() - started
        stagger(db, poll)
        proc.send_signal(signal.SIGHUP)  # a reload re-reads the schedule (an idle worker alone: every minute)
        time.sleep(REFRESH + 1)  # the scheduler reads the spread schedule; the first analysis is done
        cpu0, t0 = cpu_seconds(proc.pid), time.monotonic()
        runs0 = count(db, "SELECT count(*) FROM sync_runs")
        steps, last = [], cpu0
        while (left := t0 + window - time.monotonic()) > 0:  # per 10 s, to tell polls from spikes
            time.sleep(min(10.0, left))
            now_cpu = cpu_seconds(proc.pid)
            steps.append(round(now_cpu - last, 2))
            last = now_cpu
        cpu1, t1 = cpu_seconds(proc.pid), time.monotonic()
        runs1 = count(db, "SELECT count(*) FROM sync_runs")
        mem = memory_mb(proc.pid)
    finally:
        code = stop_daemon(proc)
    per_hour = (cpu1 - cpu0) / (t1 - t0) * 3600
    return {
        "mailboxes": mailboxes,
        "imap_idle_mailboxes": imap,
        "maildir_mailboxes": mailboxes - imap,
        "messages_per_mailbox": PER_MAILBOX,
        "poll_interval_s": poll,
        "initial_sync_s": round(initial, 2),
        "window_s": round(t1 - t0, 1),
        "polls_in_window": runs1 - runs0,
        "cpu_s_in_window": round(cpu1 - cpu0, 3),
        "cpu_s_per_hour": round(per_hour, 2),
        "cpu_s_per_10s": steps,
        "rss_mb": mem.get("VmRSS"),
        "peak_rss_mb": mem.get("VmHWM"),
        "target_cpu_s_per_hour": 2,
        "target_rss_mb": 120,
        "cpu_ok": per_hour < 2,
        "rss_ok": (mem.get("VmRSS") or 0) < 120,
        "exit_code": code,
    }


# -- (b) IMAP IDLE latency ----------------------------------------------------------------------------


def idle_latency(work: Path, *, trials: int) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from imapclient import IMAPClient

    from kith.config.secrets import write_private
    from tests.fixtures.dovecot import DOVECOT, PASSWORD, Dovecot

    if DOVECOT is None:
        return {"skipped": "dovecot is not installed: apt-get install -y --no-install-recommends dovecot-imapd"}
    root = work / "latency"
    server_root = work / "dovecot"
    server_root.mkdir(parents=True)
    os.chmod(work, 0o755)
    db = root / "kith.db"
    seeded = 5
    with Dovecot(server_root) as server:
        user = server.new_user("bench")
        server.seed(user, [message(i, "seed") for i in range(seeded)])
        root.mkdir(parents=True, exist_ok=True)
        write_private(root / "imap.pw", PASSWORD)
        box = (
            f'kind = "imap"\nhost = "{server.host}"\nport = {server.port}\ntls = "none"\nusername = "{user}"\n'
            f'password_file = "{root / "imap.pw"}"\npoll_interval = "1h"\nidle = true\n'
            'addresses = ["me@example.com"]\n'
        )
        cfg = write_config(root, db, 'default_poll_interval = "1h"\n', {"work": box})
        log = root / "kith.log"
        proc = start_daemon(cfg, log)
        latencies: list[float] = []
        try:
            wait_until(lambda: count(db, "SELECT count(*) FROM messages") == seeded, 60, proc, log)
            time.sleep(1.0)  # the watcher's IDLE is in place
            client = IMAPClient(server.host, port=server.port, ssl=False, timeout=10)
            client.login(user, PASSWORD)
            for t in range(trials):
                want = seeded + t + 1
                start = time.monotonic()
                client.append("INBOX", message(t, "pushed"))
                wait_until(lambda w=want: count(db, "SELECT count(*) FROM messages") >= w, 30, proc, log, step=0.01)
                latencies.append(time.monotonic() - start)
                time.sleep(0.5)  # back to IDLE before the next one
            client.logout()
        finally:
            code = stop_daemon(proc)
    median = statistics.median(latencies)
    return {
        "trials": trials,
        "latencies_s": [round(x, 3) for x in latencies],
        "median_s": round(median, 3),
        "max_s": round(max(latencies), 3),
        "poll_interval": "1h",
        "target_s": 1,
        "ok": median < 1,
        "exit_code": code,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="a 60 s idle window instead of 180 s")
    ap.add_argument("--window", type=float, help="seconds of idle measurement (default 180; quick 60)")
    ap.add_argument("--poll", type=float, default=300.0, help="the idle daemon's poll interval, s (default 300)")
    ap.add_argument("--mailboxes", type=int, default=MAILBOXES)
    ap.add_argument("--imap", type=int, default=MAILBOXES // 2, help="how many of them are IMAP IDLE (Dovecot)")
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--skip-latency", action="store_true")
    args = ap.parse_args(argv)
    window = args.window or (60.0 if args.quick else 180.0)
    with tempfile.TemporaryDirectory(prefix="kith-daemon-bench-") as tmp:
        work = Path(tmp)
        out: dict[str, Any] = {
            "idle": idle(work, window=window, poll=args.poll, mailboxes=args.mailboxes, imap=args.imap)
        }
        if not args.skip_latency:
            out["idle_latency"] = idle_latency(work, trials=args.trials)
    write_result("daemon", out)
    return out


if __name__ == "__main__":
    main()
