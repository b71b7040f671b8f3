"""One version, from the package: `kith --version`, the report footer and `status --json` agree."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from typer.testing import CliRunner

from kith import __version__
from kith.cli import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_version_flag_prints_the_package_version() -> None:
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.stdout == f"kith {__version__}\n"


def test_the_distribution_takes_its_version_from_the_package() -> None:
    """pyproject.toml has no second copy to forget: the build reads ``kith.__version__``."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "kith.__version__"}


def test_status_json_and_the_report_footer_name_the_version(configured: Path) -> None:
    assert runner.invoke(app, ["--config", str(configured), "sync", "--json"]).exit_code == 0
    status = json.loads(runner.invoke(app, ["--config", str(configured), "status", "--json"]).stdout)
    assert status["kith_version"] == __version__ and status["mailboxes"][0]["name"] == "local"
    report = runner.invoke(app, ["--config", str(configured), "report", "--json"])
    assert json.loads(report.stdout)["kith_version"] == __version__
    text = " ".join(runner.invoke(app, ["--config", str(configured), "report"]).stdout.split())  # the console wraps
    assert f"replies are not read. kith {__version__}" in text
    html = configured.parent / "r.html"
    assert runner.invoke(app, ["--config", str(configured), "report", "--html", str(html)]).exit_code == 0
    assert f"replies are not read. kith {__version__}" in html.read_text()
