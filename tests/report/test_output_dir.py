"""`[report] output_dir`: a copy of each report kept as files (issue 23: the key was documented
"not used yet" and did nothing). `kith report` keeps the one it shows, a send keeps the one sent;
the files are 0600 in a 0700 folder; without the key nothing is written."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kith.cli import app
from kith.config.load import Config, load_config
from kith.report.api import keep_copy, send_built
from kith.report.render import render_report
from kith.store.engine import Store
from tests.fixtures.smtp import SmtpServer
from tests.report.builders import report_data
from tests.report.test_delivery import DAY, NOW, built, smtp_config


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _config(tmp_path: Path, report: str) -> Path:
    path = tmp_path / "kith.toml"
    path.write_text(f'state_dir = "{tmp_path / "state"}"\n[me]\naddresses = ["me@example.com"]\n[report]\n{report}')
    return path


def test_kith_report_keeps_a_copy_of_what_it_shows(tmp_path: Path) -> None:
    config = _config(tmp_path, 'output_dir = "reports"\n')  # relative: to the config file's folder
    res = CliRunner().invoke(app, ["--config", str(config), "report", "--date", "2026-11-23"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    folder = tmp_path / "reports"
    html, text = folder / "kith-report-2026-11-23.html", folder / "kith-report-2026-11-23.txt"
    assert "<html" in html.read_text() and text.read_text() in res.stdout
    assert (_mode(folder), _mode(html), _mode(text)) == (0o700, 0o600, 0o600)
    assert "kept a copy" in res.stderr and "kept a copy" not in res.stdout  # a pipe gets the report alone


def test_without_output_dir_nothing_is_kept(tmp_path: Path) -> None:
    config = _config(tmp_path, "max_items = 5\n")
    res = CliRunner().invoke(app, ["--config", str(config), "report"], catch_exceptions=False)
    assert res.exit_code == 0 and "kept a copy" not in res.output
    assert not list(tmp_path.rglob("kith-report-*"))
    rendered = render_report(report_data(day=DAY), timezone="UTC")
    assert keep_copy(load_config(config), rendered, day=DAY) is None


@pytest.mark.integration
def test_each_report_sent_is_kept(sqlite_store: Store, smtp_sink: SmtpServer, tmp_path: Path) -> None:
    config: Config = smtp_config(smtp_sink, output_dir=tmp_path / "kept")
    assert send_built(sqlite_store, config, built(), day=DAY, now=NOW)
    assert len(smtp_sink.received) == 1
    text = tmp_path / "kept" / f"kith-report-{DAY.isoformat()}.txt"
    assert "Person 0" in text.read_text() and "RESPOND AND ACKNOWLEDGE" in text.read_text()
    assert _mode(text) == _mode(text.with_suffix(".html")) == 0o600


def test_an_unwritable_output_dir_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file, not a folder")
    config = _config(tmp_path, 'output_dir = "taken"\n')
    res = CliRunner().invoke(app, ["--config", str(config), "report"])
    assert res.exit_code == 78, res.output
    assert "[report] output_dir" in res.stderr and "Traceback" not in res.output
