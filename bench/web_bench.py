"""Web app speed: server time per page (p95 of 200 requests each) at 100k and 1M messages, the
people search at 20k contacts (the 1M corpus), and the peak memory of the web process.

Targets (issue 26): every page ≤ 100 ms at 100k messages and ≤ 250 ms at 1M; search ≤ 100 ms at
20k contacts; the web process ≤ 150 MB. ``kith web`` runs in its own process, as a user starts
it; requests are sent one at a time from this one over loopback, so each time is the server's
plus one loopback round trip (well under a millisecond).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.analysis_bench import CHILD
from bench.common import run_child, write_result

REQUESTS = 200


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the process has used so far, every thread included, exited ones too.

    The machine is shared, so wall time per request carries other processes' load; the server's own
    CPU time per request does not, and is the figure to compare between runs.
    """
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _thread_cpu_seconds(pid: int) -> float:
    """CPU time of the live threads in nanosecond resolution (schedstat), for a per-request figure."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return total / 1e9


def _p95(times: list[float]) -> float:
    return round(statistics.quantiles(times, n=20)[-1] * 1000, 1)


def _record_report(cfg: Path) -> None:
    """One sent report on record, as the daemon leaves it (the Reports page lists it)."""
    from kith.config.load import load_config
    from kith.report.data import build, recipient_of
    from kith.sample import load_truth
    from kith.store import reports
    from kith.store.engine import store_for

    config = load_config(cfg)
    now = load_truth(cfg.parent / "sample" / "truth.json").now
    store = store_for(config)
    with store.session() as s:
        built = build(s, config, day=now.date(), now=now)
        claim = reports.claim(
            s, day=now.date(), recipient=recipient_of(config), now=now, message_id="<b@k>", payload=built.payload
        )
        if claim is not None:
            reports.mark_sent(s, claim, now=now)
    store.dispose()


def measure(cfg: Path, requests: int) -> dict[str, Any]:
    import httpx
    from sqlalchemy import text

    from kith.config.load import load_config
    from kith.store.engine import store_for

    config = load_config(cfg)
    store = store_for(config)
    with store.engine.connect() as conn:
        contacts = [
            (a, n)
            for a, n in conn.execute(text("SELECT address, name FROM contacts WHERE NOT automated ORDER BY address"))
        ]
        messages = conn.execute(text("SELECT count(*) FROM messages")).scalar()
        report_id = conn.execute(text("SELECT max(id) FROM reports")).scalar()
    store.dispose()
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kith", "--config", str(cfg), "web", "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        url = ""
        while not url:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError("kith web exited")
            m = re.search(r"http://\S+/login\?token=\S+", line)
            url = m.group(0) if m else ""
        rng = random.Random(1)
        words = [w for _, n in contacts for w in (n or "").split() if len(w) > 3] or ["a"]
        pages: dict[str, Any] = {
            "today": lambda: "/",
            "people": lambda: "/people",
            "people_overdue": lambda: "/people?sort=overdue",
            "search": lambda: f"/people?q={rng.choice(words)[: rng.randint(3, 6)]}",
            "person": lambda: f"/person?a={rng.choice(contacts)[0]}",
            "health": lambda: "/health",
            "reports": lambda: "/reports",
            "report": lambda: f"/reports/{report_id}/mail.html",
        }
        out: dict[str, Any] = {
            "messages": messages,
            "contacts": len(contacts),
            "p95_ms": {},
            "median_ms": {},
            "cpu_ms_per_request": {},
            "cpu_p95_ms": {},
            "loadavg_1m": {},
        }
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            assert client.get(url, follow_redirects=False).status_code == 303
            for name, path in pages.items():
                if name == "report" and report_id is None:
                    continue
                times, cpu_times = [], []
                cpu_start = _cpu_seconds(proc.pid)
                for _ in range(requests):
                    p = path()
                    c = _thread_cpu_seconds(proc.pid)
                    t = time.perf_counter()
                    r = client.get(p)
                    times.append(time.perf_counter() - t)
                    cpu_times.append(_thread_cpu_seconds(proc.pid) - c)
                    assert r.status_code == 200, (p, r.status_code)
                cpu_total = _cpu_seconds(proc.pid) - cpu_start
                out["p95_ms"][name] = _p95(times)
                out["median_ms"][name] = round(statistics.median(times) * 1000, 1)
                out["cpu_ms_per_request"][name] = round(cpu_total / requests * 1000, 1)
                out["cpu_p95_ms"][name] = _p95(cpu_times)
                out["loadavg_1m"][name] = os.getloadavg()[0]
                print(
                    name,
                    out["p95_ms"][name],
                    "ms p95;",
                    out["cpu_ms_per_request"][name],
                    "ms CPU/request; load",
                    out["loadavg_1m"][name],
                    flush=True,
                )
        out["web_peak_rss_mb"] = _peak_rss_mb(proc.pid)
        return out
    finally:
        proc.terminate()
        proc.wait(10)


def one_size(work: Path, messages: int, contacts: int, requests: int) -> dict[str, Any]:
    from kith.cli.demo_pipeline import write_demo_config
    from kith.sample import generate

    info = generate(work / "sample", seed=1, messages=messages, contacts=contacts)
    cfg = write_demo_config(work, info)
    run_child(CHILD, "sync+analyze", str(cfg), f"sqlite:///{work / 'kith.db'}")
    _record_report(cfg)
    return measure(cfg, requests)


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(prog="web_bench")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sizes", default=None, help="comma-separated message counts")
    ap.add_argument("--requests", type=int, default=REQUESTS)
    ap.add_argument("--keep", type=Path, default=None, help="reuse/keep the corpus under this folder")
    args = ap.parse_args(argv)
    sizes = (
        [int(s) for s in args.sizes.split(",")] if args.sizes else ([10_000] if args.quick else [100_000, 1_000_000])
    )
    rows = []
    for n in sizes:
        contacts = max(200, n // 50)
        if args.keep is not None:
            work = args.keep / str(n)
            if (work / "kith.toml").exists():
                rows.append(measure(work / "kith.toml", args.requests))
            else:
                work.mkdir(parents=True, exist_ok=True)
                rows.append(one_size(work, n, contacts, args.requests))
        else:
            with tempfile.TemporaryDirectory(prefix=f"kith-web-{n}-") as tmp:
                rows.append(one_size(Path(tmp), n, contacts, args.requests))
        print(json.dumps(rows[-1]), flush=True)
    write_result(
        "web" + ("_quick" if args.quick else "") + ("_" + args.sizes.replace(",", "_") if args.sizes else ""),
        {
            "targets": {
                "page_p95_ms_100k": 100,
                "page_p95_ms_1m": 250,
                "search_p95_ms_20k_contacts": 100,
                "rss_mb": 150,
            },
            "requests_per_page": args.requests,
            "results": rows,
        },
    )


if __name__ == "__main__":
    main(sys.argv[1:])
