"""Is this machine big enough for the rebuild's helper process? (issue 28)

The helper (``rebuild_helper``) buys the rebuild a second core at the price of a second process's
memory: at 1M messages the two peaked at ~750 and ~900 MB. On one core there is nothing to
gain, and under 2 GB of memory the pair would crowd out everything else on a small VPS, so
there the rebuild derives in its own process; ``analyze --json`` says which path it took and why.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Fewer usable cores than this: no helper (it would only take turns with this process).
MIN_CORES = 2
#: Less memory than this (physical, or the cgroup's limit when lower): no helper.
MIN_MEMORY = 2 * 1024**3


def cores() -> int:
    """Cores this process may run on (its affinity mask, which containers and taskset narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def memory_bytes(cgroup: Path = Path("/sys/fs/cgroup")) -> int | None:
    """Physical memory, or the cgroup v2/v1 limit when that is lower; None when unknown."""
    found: list[int] = []
    try:
        found.append(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        pass
    for limit in (cgroup / "memory.max", cgroup / "memory" / "memory.limit_in_bytes"):
        try:
            text = limit.read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            found.append(int(text))
    return min(found) if found else None


def single_process_reason(n_cores: int | None = None, memory: int | None = -1) -> str | None:
    """Why the rebuild should derive in one process on this machine, or None when a helper fits."""
    n_cores = cores() if n_cores is None else n_cores
    if n_cores < MIN_CORES:
        return f"{n_cores} core"
    memory = memory_bytes() if memory == -1 else memory
    if memory is not None and memory < MIN_MEMORY:
        return f"{memory / 1024**3:.1f} GB of memory"
    return None


__all__ = ["MIN_CORES", "MIN_MEMORY", "cores", "memory_bytes", "single_process_reason"]
