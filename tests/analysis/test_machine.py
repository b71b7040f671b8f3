"""On one core or under 2 GB of memory the rebuild derives in one process, and says so (issue 28)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import kith.analysis.rebuild as rebuild_mod
from kith.analysis import rebuild_helper as offload
from kith.analysis.api import analyze
from kith.analysis.machine import MIN_MEMORY, memory_bytes, single_process_reason
from tests.analysis.test_rebuild_helper import synced  # noqa: F401  (the fixture)


def test_one_core_or_little_memory_means_one_process() -> None:
    assert single_process_reason(1, 8 * 1024**3) == "1 core"
    assert single_process_reason(2, 1024**3) == "1.0 GB of memory"
    assert single_process_reason(2, MIN_MEMORY) is None
    assert single_process_reason(4, None) is None  # memory unknown: the cores decide


def test_a_cgroup_limit_below_the_physical_memory_counts(tmp_path: Path) -> None:
    (tmp_path / "memory.max").write_text(f"{512 * 1024**2}\n")
    assert memory_bytes(tmp_path) == 512 * 1024**2
    (tmp_path / "memory.max").write_text("max\n")  # no limit: the physical memory
    assert memory_bytes(tmp_path) not in (None, 512 * 1024**2)


def test_the_rebuild_summary_says_which_path_and_why(synced: Any, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    store, config, now = synced
    started: list[str] = []
    monkeypatch.setattr(offload, "OFFLOAD_MIN", 0)  # big enough for a helper, were the machine
    monkeypatch.setattr(rebuild_mod, "derive_elsewhere", lambda url, *a: started.append(url))
    monkeypatch.setattr(rebuild_mod, "single_process_reason", lambda: "1 core")
    with store.session() as s:
        summary = analyze(s, config, now=now, rebuild=True)
    assert started == []
    assert summary["path"] == "single-process"
    assert summary["single_process_reason"] == "1 core"
    monkeypatch.setattr(offload, "OFFLOAD_MIN", 10**9)  # a small store: one process, no reason to give
    with store.session() as s:
        summary = analyze(s, config, now=now, rebuild=True)
    assert summary["path"] == "single-process" and "single_process_reason" not in summary
