"""`kith report` through Typer's CliRunner on the demo corpus (needs the analysis package)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

# no skip guard: a renamed module must fail here, not skip silently (issue 29)
pytestmark = [pytest.mark.integration]


def test_report_json_text_and_html(tmp_path: Path) -> None:
    from kith.cli import app
    from kith.cli.demo_pipeline import run_demo

    demo = run_demo(tmp_path / "demo", messages=400, seed=5)
    runner = CliRunner()
    base = ["--config", str(demo.config_path), "report", "--date", "2026-01-05"]
    out = runner.invoke(app, [*base, "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["date"] == "2026-01-05" and [s["key"] for s in data["sections"]] == [
        "respond",
        "broadcast_only",
        "pull_back",
        "reconnect",
    ]
    text = runner.invoke(app, base)
    assert text.exit_code == 0 and "kith" in text.stdout
    html = tmp_path / "out" / "r.html"
    written = runner.invoke(app, [*base, "--html", str(html)])
    assert written.exit_code == 0 and html.exists() and "<html" in html.read_text()
    refused = runner.invoke(app, [*base, "--send"])  # the demo config has deliver = "none"
    assert refused.exit_code == 78 and "deliver" in refused.output
