"""Finding 5: from the CLI (the README's quick-start path) the state directory was 0755 and the
database, its WAL and SHM and the ``report --html`` output 0644: any local user could read who
writes to whom. Through the ``kith`` command itself (a process of its own, as a user runs it)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.hostile.corpus import cli_config


def kith(config: Path, *args: str, umask: int = 0o022) -> subprocess.CompletedProcess[str]:
    """``kith ARGS`` as a shell with the common umask 022 runs it."""

    def set_umask() -> None:
        os.umask(umask)

    return subprocess.run(
        [sys.executable, "-m", "kith", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=set_umask,
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_what_the_cli_writes_is_private_and_what_is_open_is_tightened(tmp_path: Path) -> None:
    config, _maildir = cli_config(tmp_path)
    state = tmp_path / "state"
    synced = kith(config, "sync")
    assert synced.returncode == 0, synced.stderr
    assert mode(state) == 0o700
    written = [p for p in state.iterdir() if p.name.startswith("kith.db")]
    assert {p.name for p in written} >= {"kith.db"}
    assert {p.name: mode(p) for p in written} == {p.name: 0o600 for p in written}
    report = tmp_path / "out" / "report.html"
    made = kith(config, "report", "--html", str(report))
    assert made.returncode == 0, made.stderr
    files = list(report.parent.iterdir())
    assert report in files and {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
    # a database made before (or by hand) open to others: tightened, and said
    os.chmod(state, 0o755)
    for p in state.iterdir():
        os.chmod(p, 0o644)
    status = kith(config, "status")
    assert status.returncode == 0, status.stderr
    assert mode(state) == 0o700
    assert all(mode(p) == 0o600 for p in state.iterdir() if p.name.startswith("kith.db"))
    assert "made it private" in status.stderr
