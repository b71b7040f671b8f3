"""Every listing reads well at 80 columns and at 200 (issue 23, point 6): nothing that identifies a
row is cut, no line is wider than the terminal, a narrow one shows fewer columns (each whole),
a wide one shows them all; piped text is never hard-wrapped mid-sentence."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

from kith.cli import app
from kith.cli.common import console
from kith.cli.demo_pipeline import DemoResult
from kith.store import daemons
from kith.store.engine import open_store
from kith.store.models import utcnow

pytestmark = pytest.mark.integration


@pytest.fixture
def width(request: pytest.FixtureRequest) -> Iterator[int]:
    old = console._width
    console._width = request.param
    yield request.param
    console._width = old


def kith(demo: DemoResult, *args: str) -> str:
    res = CliRunner().invoke(app, ["--config", str(demo.config_path), *args], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.stdout


def as_json(demo: DemoResult, *args: str) -> Any:
    return json.loads(kith(demo, *args, "--json"))


def check_lines(out: str, width: int) -> None:
    for line in out.splitlines():
        assert cell_len(line.rstrip()) <= width, f"wider than {width}: {line!r}"
    assert "…" not in out, out


def header(out: str, word: str) -> str:
    return next(line for line in out.splitlines() if word in line)


@pytest.mark.parametrize("width", [80, 200], indirect=True)
def test_flags(demo: DemoResult, width: int) -> None:
    found = as_json(demo, "flags", "--state", "all")
    out = kith(demo, "flags", "--state", "all")
    check_lines(out, width)
    for f in found:  # every address whole, every evidence sentence with its unit
        assert f["contact"]["address"] in out
    assert re.search(r"\d+ days since you were last in touch; usually", " ".join(out.split()))
    columns = header(out, "who / what")
    assert ("since" in columns and "state" in columns) == (width == 200)


@pytest.mark.parametrize("width", [80, 200], indirect=True)
def test_status(demo: DemoResult, width: int) -> None:
    out = kith(demo, "status")
    check_lines(out, width)
    columns = header(out, "mailbox / stream")
    for word in ("state", "items", "lag"):
        assert word in columns
    if width == 200:
        assert "role" in columns and "last success (UTC)" in columns
    rows = {line.split()[0]: line for line in out.splitlines() if "(maildir)" in line}
    assert set(rows) == {"personal", "work"}
    for line in rows.values():
        assert line.split()[2] == "ok"  # the mailbox's state under "state", not under "stream"
    if width == 200:
        assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", out)


@pytest.mark.parametrize("width", [80, 200], indirect=True)
def test_contacts_and_automated(demo: DemoResult, width: int) -> None:
    people = as_json(demo, "contacts")
    out = kith(demo, "contacts")
    check_lines(out, width)
    assert all(c["address"] in out for c in people)
    bots = as_json(demo, "contacts", "--automated")
    out = kith(demo, "contacts", "--automated")
    check_lines(out, width)
    assert bots and all(c["address"] in out for c in bots)


@pytest.mark.parametrize("width", [80, 200], indirect=True)
def test_timeline_and_history(demo: DemoResult, width: int) -> None:
    flag = next(f for f in as_json(demo, "flags") if f["kind"] == "reconnect")
    out = kith(demo, "timeline", flag["contact"]["address"])
    check_lines(out, width)
    out = kith(demo, "flags", "history", str(flag["id"]))
    check_lines(out, width)


@pytest.mark.parametrize("width", [80, 200], indirect=True)
def test_sync_table(demo: DemoResult, width: int) -> None:
    out = kith(demo, "sync")
    check_lines(out, width)
    assert "personal" in out and "work" in out and "new/updated" in out


def test_piped_report_is_not_hard_wrapped(demo: DemoResult) -> None:
    old = console._width
    console._width = 60
    try:
        out = kith(demo, "report", "--date", demo.now.date().isoformat())
    finally:
        console._width = old
    report = (demo.report_text or Path()).read_text().splitlines()
    long = [line for line in report if len(line) > 60 and not line.startswith("Sent by kith at")]
    assert long, "expected sentences longer than the 60-column terminal"
    printed = out.splitlines()
    assert [line for line in long if line not in printed] == []  # whole, as the report has them


def test_status_says_whether_a_daemon_runs_and_when_it_last_ran(demo: DemoResult) -> None:
    store = open_store(f"sqlite:///{demo.database}", upgrade=False)
    try:
        out = kith(demo, "status")
        assert "none has run on this database" in out and "kith run" in out
        assert "due now" not in out and "next run" not in out  # nothing is due when nothing runs
        now = utcnow()
        daemons.beat(store.engine, "host-a:42", timedelta(minutes=1), now=now - timedelta(seconds=5))
        data = as_json(demo, "status")
        assert [w["worker"] for w in data["daemon"]["running"]] == ["host-a:42"]
        out = kith(demo, "status")
        assert "running: host-a:42, heartbeat" in out and "next run" in out
        daemons.beat(store.engine, "host-a:42", timedelta(minutes=1), now=now - timedelta(hours=3))
        with store.engine.begin() as conn:  # gone without a clean stop: its lease has expired
            conn.exec_driver_sql("DELETE FROM leases WHERE name LIKE 'daemon:%'")
        out = kith(demo, "status")
        assert "not running; last seen" in out and "3h00m ago" in out and "host-a:42" in out
    finally:
        store.dispose()
