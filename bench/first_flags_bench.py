"""First flags early (issue 28): a fresh ``kith run`` on a big mailbox, recent window first.

The sample (``--messages``, default 100k, dated up to now) is synced by a real ``kith run`` into a
fresh SQLite store, twice in the same run: with ``[daemon] first_window = "90d"`` (the default)
and with it off (``"0s"``: the plain full sync first). For each, the seconds from the daemon's
start until the first open flag is stored, and until the complete sync (every stream has its
cursor, no sync running). Target: first flags within 15 % of the complete sync's time, measured
on the same run's windowed daemon.

The sample generator writes one year of mail; a mailbox for which first flags early matters holds
many (the issue's case is 15 years), and in one year the 90-day window is a quarter of the mail.
So the bench stacks ``--years`` (default 5) yearly samples of ``messages / years`` each, every
one dated a year before the next (seeds 1, 2...; the owner's addresses are the same in all), into
one set of mailboxes: a 5-year history in which the window is about a twentieth.

Sources: Maildir (the sample's folders) and, with Dovecot installed, IMAP: the same files served
by Dovecot (their mtime set to their delivery time, which Dovecot reports as INTERNALDATE).

``python -m bench first_flags [--quick]``; writes bench/results/first_flags.json.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import write_result
from bench.daemon_bench import ROOT, count, start_daemon, stop_daemon, wait_until


def _run(cfg: Path, db: Path, log: Path, timeout: float) -> dict[str, float]:
    proc = start_daemon(cfg, log)
    try:
        started = time.monotonic()
        first: float | None = None
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"kith run exited {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
            if first is None and count(db, "SELECT count(*) FROM flags WHERE state = 'open'"):
                first = time.monotonic() - started
            streams = count(db, "SELECT count(*) FROM streams")
            if (
                streams
                and count(db, "SELECT count(*) FROM streams WHERE cursor IS NULL") == 0
                and count(db, "SELECT count(*) FROM sync_runs WHERE status = 'running'") == 0
            ):
                complete = time.monotonic() - started
                break
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"no complete sync after {timeout}s:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.1)
        if first is None:  # the plain path: flags come from the analysis after the sync
            wait_until(
                lambda: count(db, "SELECT count(*) FROM flags WHERE state = 'open'") > 0, timeout, proc, log, 0.1
            )
            first = time.monotonic() - started
    finally:
        stop_daemon(proc)
    return {"first_flags_s": round(first, 2), "complete_sync_s": round(complete, 2)}


def _config(work: Path, info: Any, window: str, imap: dict[str, str] | None) -> Path:
    from kith.cli.demo_pipeline import write_demo_config

    cfg = write_demo_config(work, info)
    with cfg.open("a") as fh:
        fh.write(f'\n[daemon]\nfirst_window = "{window}"\ndefault_poll_interval = "1h"\n')
    if imap is not None:  # the same mailboxes, served by Dovecot
        for name, text in imap.items():
            (work / "mailboxes.d" / f"{name}.toml").write_text(text)
    return cfg


def _dovecot_copy(server: Any, info: Any, work: Path, tag: str) -> dict[str, str]:
    """Each sample mailbox as a Dovecot user (files copied, mtime = delivery time)."""
    from kith.config.secrets import write_private
    from tests.fixtures.dovecot import PASSWORD

    boxes = {}
    for mb in info.mailboxes:
        user = server.new_user(f"ff{tag}{mb.name}")
        for folder in sorted(p for p in mb.path.rglob("cur") if p.is_dir()):
            rel = folder.parent.relative_to(mb.path).as_posix()
            target = server.maildir(user, "INBOX" if rel == "." else rel.lstrip(".").replace("/", "."))
            for sub in ("cur", "new", "tmp"):
                (target / sub).mkdir(parents=True, exist_ok=True)
            for f in folder.iterdir():
                dest = target / "cur" / f.name
                shutil.copyfile(f, dest)
                stamp = int(f.name.split(".", 1)[0])
                os.utime(dest, (stamp, stamp))
        server.chown(server.home(user))
        write_private(work / f"{mb.name}.pw", PASSWORD)
        addresses = ", ".join(f'"{a}"' for a in mb.addresses)
        boxes[mb.name] = (
            f'kind = "imap"\nhost = "{server.host}"\nport = {server.port}\ntls = "none"\nusername = "{user}"\n'
            f'password_file = "{work / f"{mb.name}.pw"}"\nidle = false\naddresses = [{addresses}]\nbatch_size = 1000\n'
        )
    return boxes


def _history(base: Path, messages: int, years: int) -> Any:
    """``years`` yearly samples stacked into the first one's mailboxes (see the module's doc)."""
    from kith.sample import generate
    from kith.store.models import utcnow

    now = utcnow().replace(microsecond=0)
    info = generate(base / "sample", seed=1, messages=messages // years, now=now)
    for k in range(1, years):
        older = generate(base / f"sample{k}", seed=k + 1, messages=messages // years, now=now - timedelta(days=365 * k))
        for mine, theirs in zip(info.mailboxes, older.mailboxes, strict=True):
            for f in theirs.path.rglob("*"):
                if f.is_file() and f.parent.name in ("cur", "new"):
                    target = mine.path / f.relative_to(theirs.path)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    f.rename(target)
        shutil.rmtree(base / f"sample{k}")
    return info


def one(kind: str, messages: int, years: int, timeout: float, server: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = {"source": kind, "messages": messages, "years": years, "first_window_days": 90}
    with tempfile.TemporaryDirectory(prefix="kith-ff-") as tmp:
        base = Path(tmp)
        os.chmod(base, 0o755)
        info = _history(base, messages, years)
        for window in ("90d", "0s"):
            work = base / f"w{window}"
            work.mkdir()
            # IMAP: the same mail as new server users for each run (a fresh install's view)
            imap = _dovecot_copy(server, info, work, window) if server is not None else None
            cfg = _config(work, info, window, imap)
            out["windowed" if window == "90d" else "plain"] = _run(cfg, work / "kith.db", work / "kith.log", timeout)
    w = out["windowed"]
    out["first_flags_share_of_complete_sync"] = round(w["first_flags_s"] / w["complete_sync_s"], 3)
    out["target_share"] = 0.15
    out["ok"] = out["first_flags_share_of_complete_sync"] <= 0.15
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="10k messages instead of 100k")
    ap.add_argument("--messages", type=int)
    ap.add_argument("--sources", default="maildir,imap")
    ap.add_argument("--years", type=int, default=5, help="years of history the sample is stacked into")
    ap.add_argument("--timeout", type=float, default=1800.0)
    args = ap.parse_args(argv)
    n = args.messages or (10_000 if args.quick else 100_000)
    out: dict[str, Any] = {}
    if "maildir" in args.sources:
        out["maildir"] = one("maildir", n, args.years, args.timeout)
    if "imap" in args.sources:
        import sys

        sys.path.insert(0, str(ROOT))
        from tests.fixtures.dovecot import DOVECOT, Dovecot

        if DOVECOT is None:
            out["imap"] = {"skipped": "dovecot is not installed"}
        else:
            with tempfile.TemporaryDirectory(prefix="kith-ff-dovecot-") as d:
                os.chmod(d, 0o755)
                with Dovecot(Path(d)) as server:
                    out["imap"] = one("imap", n, args.years, args.timeout, server)
    write_result("first_flags", out)
    return out


if __name__ == "__main__":
    main()
