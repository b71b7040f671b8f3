"""What `sync`, `analyze` and `demo` print (issue 23, point 9): each summary once, in words, with
the right number ("1 mailbox"); the demo's sample ends today, so the report it suggests for a
date is the report it made."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kith.cli import app
from kith.cli.demo_pipeline import DemoResult
from kith.config.load import load_config
from kith.daemon.scheduler import Scheduler
from kith.store.engine import store_for

pytestmark = pytest.mark.integration


def run(demo: DemoResult, *args: str) -> object:
    return CliRunner().invoke(app, ["--config", str(demo.config_path), *args], catch_exceptions=False)


@pytest.mark.parametrize("command", [("analyze",), ("sync",), ("analyze", "--rebuild")])
def test_a_summary_is_printed_once_and_never_as_a_python_dict(demo: DemoResult, command: tuple[str, ...]) -> None:
    res = run(demo, *command)
    assert res.exit_code == 0, res.output  # type: ignore[attr-defined]
    assert "{'" not in res.stderr and "{'" not in res.stdout  # type: ignore[attr-defined]
    assert res.stderr.strip() == ""  # type: ignore[attr-defined]
    if command[0] == "analyze":
        assert res.stdout.count("analysis (") == 1  # type: ignore[attr-defined]


def test_verbose_shows_the_log_in_words(demo: DemoResult) -> None:
    res = run(demo, "analyze", "-v")
    assert "kith.analysis.engine: analysis (incremental) in" in res.stderr  # type: ignore[attr-defined]
    assert "{'" not in res.stderr  # type: ignore[attr-defined]


def test_one_mailbox_is_one_mailbox(demo: DemoResult, tmp_path: Path) -> None:
    config = load_config(demo.config_path)
    one = type(config)(settings=config.settings, mailboxes=config.mailboxes[:1], path=config.path, files=config.files)
    store = store_for(one)
    try:
        summary = Scheduler(store, one, worker="t", stop=threading.Event()).summary()
    finally:
        store.dispose()
    assert summary.startswith("1 mailbox;"), summary


def test_the_demo_sample_ends_now_and_its_suggestion_names_the_date(demo: DemoResult) -> None:
    assert abs(datetime.now(UTC) - demo.now) < timedelta(hours=1)
    assert demo.report_html is not None and demo.now.date().isoformat() in demo.report_html.name


def test_the_demo_command_suggests_the_report_it_made(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["demo", "--dir", str(tmp_path / "d"), "--messages", "300"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    day = res.stdout.split("report --date ")[1].split()[0]
    assert f"kith-report-{day}.html" in res.stdout  # the date it suggests is the one it made
    assert abs(datetime.fromisoformat(day).date() - datetime.now(UTC).date()) <= timedelta(days=1)
