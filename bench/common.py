"""Shared bench helpers: timing, peak RSS of a child process, JSON results next to a baseline."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


@contextmanager
def timer() -> Any:
    box: dict[str, float] = {}
    start = time.perf_counter()
    try:
        yield box
    finally:
        box["seconds"] = time.perf_counter() - start


def best_of(n: int, fn: Callable[[], Any]) -> float:
    """The fastest of ``n`` runs: the least disturbed by other load on a shared 2-core machine."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


#: Child-code prelude: a thread that keeps the peak RSS (VmHWM) of this process's descendants,
#: i.e. the helper processes, which ``getrusage(RUSAGE_CHILDREN)`` never sees (they are the
#: forkserver's children). Sampled every 0.25 s, so a helper's last quarter second may be missed.
WATCH_HELPERS = """
import os as _os, threading as _threading, time as _time
_peaks = {}
def _watch():
    me = _os.getpid()
    while True:
        parents = {}
        for pid in _os.listdir('/proc'):
            if pid.isdigit():
                try:
                    with open(f'/proc/{pid}/stat') as fh:
                        parents[int(pid)] = int(fh.read().rsplit(')', 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    pass
        mine = {me}
        for _ in range(4):
            mine |= {p for p, parent in parents.items() if parent in mine}
        for pid in mine - {me}:
            try:
                with open(f'/proc/{pid}/status') as fh:
                    for line in fh:
                        if line.startswith('VmHWM:'):
                            _peaks[pid] = max(_peaks.get(pid, 0), int(line.split()[1]))
            except OSError:
                pass
        _time.sleep(0.25)
_threading.Thread(target=_watch, daemon=True).start()
def helper_peak_mb():
    return round(max(_peaks.values(), default=0) / 1024, 1)
"""


def run_child(code: str, *args: str, env: dict[str, str] | None = None) -> tuple[dict[str, Any], float]:
    """Run python ``code`` in a fresh process; returns its JSON stdout and its peak RSS in MB."""
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"bench child failed:\n{proc.stderr[-3000:]}")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return json.loads(proc.stdout.strip().splitlines()[-1]), usage.ru_maxrss / 1024


def write_result(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{name}.json"
    payload = {
        "benchmark": name,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        **data,
    }
    out.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    print(json.dumps(payload, indent=2, default=str))
    return out


__all__ = ["RESULTS", "WATCH_HELPERS", "best_of", "run_child", "timer", "write_result"]
