"""The shipped unit files: `systemd-analyze verify` passes and the system unit's exposure is ≤ 2.0."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[2] / "systemd"
MAX_EXPOSURE = 2.0


@pytest.fixture
def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("systemd-analyze is missing in CI (make test-deps installs systemd)")
        pytest.skip("systemd-analyze is not installed")
    return found


def _runnable_copy(unit: str, tmp_path: Path) -> Path:
    """The unit with ExecStart= pointing at a kith that exists here (verify checks the binary)."""
    kith = Path(sys.executable).with_name("kith")
    text = (UNITS / unit).read_text()
    text = text.replace("/usr/bin/kith", str(kith)).replace("%h/.local/bin/kith", str(kith))
    out = tmp_path / unit
    out.write_text(text)
    return out


def test_system_unit_exposure_is_at_most_2(systemd_analyze: str) -> None:
    done = subprocess.run(
        [systemd_analyze, "security", "--offline=true", "--no-pager", str(UNITS / "kith.service")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    match = re.search(r"Overall exposure level for kith\.service: (\d+(?:\.\d+)?) (\w+)", done.stdout)
    assert match, done.stdout + done.stderr
    assert float(match.group(1)) <= MAX_EXPOSURE, done.stdout
    assert match.group(2) == "OK"


@pytest.mark.parametrize("unit", ["kith.service", "kith-user.service"])
def test_units_verify(systemd_analyze: str, tmp_path: Path, unit: str) -> None:
    done = subprocess.run(
        [systemd_analyze, "verify", "--man=no", str(_runnable_copy(unit, tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


@pytest.mark.parametrize("unit", ["kith.service", "kith-user.service"])
def test_units_speak_notify_and_reload_with_sighup(unit: str) -> None:
    text = (UNITS / unit).read_text()
    for line in ("Type=notify", "ExecReload=/bin/kill -HUP $MAINPID", "WatchdogSec=", "RestartPreventExitStatus=78"):
        assert line in text, (unit, line)
    stop = re.search(r"TimeoutStopSec=(\d+)s", text)
    assert stop and int(stop.group(1)) >= 20, "the daemon needs up to ~20 s to stop (run.STOP_GRACE + joins)"
