"""The report HTML as a browser draws it: headless Chromium screenshots at phone and desktop width.

The screenshots are kept in tests/artifacts/report/ (gitignored) for a human to look at; the test
checks they are not blank and that every section title is in the DOM text Chromium extracted.
"""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image as mpimg

from kith.report.api import write_files
from kith.report.render import render_report
from tests.fixtures.chromium import chromium_path
from tests.report.builders import report_data

pytestmark = pytest.mark.integration

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "report"
TITLES = (
    "Respond and acknowledge",
    "Only broadcasting",
    "Pull back",
    "Time to reconnect",
    "Stage changes",
    "Numbers",
    "Sync health",
)


def _chromium() -> str:
    return chromium_path()


def _run(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--hide-scrollbars", f"--user-data-dir={profile}",
    ]  # fmt: skip
    return subprocess.run([browser, *flags, *args], capture_output=True, text=True, timeout=60, check=True)


def _not_blank(png: Path) -> None:
    pixels = mpimg.imread(png)
    rgb = (pixels[..., :3] * 255).astype(np.uint32).reshape(-1, 3)
    packed = (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
    colours, counts = np.unique(packed, return_counts=True)
    assert len(colours) > 50, f"{png} has only {len(colours)} colours"
    assert counts.max() / counts.sum() < 0.97, f"{png} is almost one colour"


def test_report_renders_in_chromium_at_phone_and_desktop_width(tmp_path: Path) -> None:
    browser = _chromium()
    data = report_data(respond=25, names=("Zoë Šimek",) * 25, sync_problem=True)
    rendered = render_report(data, timezone="Europe/Berlin")
    html, _ = write_files(rendered, day=date.fromisoformat(data["date"]), directory=ARTIFACTS)
    url = html.resolve().as_uri()
    shots = []
    for label, size in (("phone", "390,2000"), ("desktop", "1280,2000")):
        shot = ARTIFACTS / f"report-{label}.png"
        shot.unlink(missing_ok=True)
        _run(browser, tmp_path / f"profile-{label}", f"--screenshot={shot}", f"--window-size={size}", url)
        _not_blank(shot)
        shots.append(shot)
    dom = _run(browser, tmp_path / "profile-dom", "--dump-dom", url).stdout
    for title in TITLES:
        assert title in dom
    assert "and 15 more" in dom
    assert "Zoë Šimek" in dom
    print("\nreport screenshots:", *shots, html, sep="\n  ")
