"""`kith timeline` tells the whole story of one person, found by name or address (issue 23,
point 7); `kith flags history` is a table for people, JSON on request (point 8)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from typer.testing import CliRunner

from kith.analysis.conversations import conversations
from kith.analysis.search import fold
from kith.cli import app
from kith.cli.demo_pipeline import DemoResult

pytestmark = pytest.mark.integration


def run(demo: DemoResult, *args: str) -> Any:
    return CliRunner().invoke(app, ["--config", str(demo.config_path), *args], catch_exceptions=False)


def two_way(demo: DemoResult) -> dict[str, Any]:
    people = json.loads(run(demo, "contacts", "--json").stdout)
    return next(c for c in people if c["name"] and c["cadence_days"] and c["personal_in"] and c["personal_out"])


def test_timeline_shows_stage_reason_cadence_latency_and_conversations(demo: DemoResult) -> None:
    c = two_way(demo)
    out = run(demo, "timeline", c["address"])
    assert out.exit_code == 0, out.output
    text = " ".join(out.stdout.split())
    assert c["stage_evidence"]["why"] in text  # the stage's reason
    assert re.search(r"cadence about every \d+ (days|weeks|months) \(\d+\.\d days between conversations\)", text)
    assert re.search(r"you reply (median [\d.]+ (min|h|days), p90|—)", text)
    assert "conversations" in text and re.search(r"\d{4}-\d\d-\d\d (both ways|from you|from them)", text)
    data = json.loads(run(demo, "timeline", c["address"], "--json").stdout)
    first = data["conversations"][0]
    assert first["start"][:10] in out.stdout and (first["subject"] or "") in text


@pytest.mark.parametrize("spell", [str.lower, str.upper, fold])
def test_timeline_finds_people_by_name_case_and_accents_ignored(demo: DemoResult, spell: Any) -> None:
    people = json.loads(run(demo, "contacts", "--json").stdout)
    names = [c["name"] for c in people if c["name"]]
    accented = next(
        c for c in people if c["name"] and fold(c["name"]) != c["name"].lower() and names.count(c["name"]) == 1
    )
    out = run(demo, "timeline", spell(accented["name"]))
    assert out.exit_code == 0, out.output
    assert accented["address"] in out.stdout


def test_a_name_several_people_share_lists_them(demo: DemoResult) -> None:
    people = json.loads(run(demo, "contacts", "--json").stdout)
    firsts: dict[str, list[str]] = {}
    for c in people:
        if c["name"]:
            firsts.setdefault(fold(c["name"]).split()[0], []).append(c["address"])
    first, addresses = next((k, v) for k, v in firsts.items() if len(v) > 1)
    out = run(demo, "timeline", first)
    assert out.exit_code == 64
    assert f"names {len(addresses)} contacts" in out.stderr and all(a in out.stderr for a in addresses)
    assert run(demo, "timeline", "Nobody Of That Name").exit_code == 64


def test_flags_history_is_a_table_and_json_on_request(demo: DemoResult) -> None:
    flag = json.loads(run(demo, "flags", "--json").stdout)[0]
    out = run(demo, "flags", "history", str(flag["id"]))
    assert out.exit_code == 0
    assert not out.stdout.lstrip().startswith("{")
    assert "when (UTC)" in out.stdout and "open" in out.stdout and flag["contact"]["address"] in out.stdout
    data = json.loads(run(demo, "flags", "history", str(flag["id"]), "--json").stdout)
    assert data["id"] == flag["id"] and data["history"][0]["state"] == "open"


def test_conversations_are_runs_without_a_two_day_gap() -> None:
    def at(day: int, hour: int = 9, kind: str = "email_in", personal: bool = True) -> dict[str, Any]:
        return {
            "at": f"2026-03-{day:02d}T{hour:02d}:00:00+00:00",
            "kind": kind,
            "personal": personal,
            "subject": f"s{day}",
        }

    talks = conversations(
        [
            at(1),
            at(1, 15, "email_out"),
            at(2, 9, "email_in"),
            at(10, kind="meeting"),
            at(20),
            at(22, 10),
            at(25, personal=False),
        ]
    )
    # newest first; the 22nd at 10:00 is 2 days and an hour after the 20th: a conversation of its own
    assert [(t["start"].day, t["direction"], t["messages"], t["meetings"]) for t in talks] == [
        (22, "in", 1, 0),
        (20, "in", 1, 0),
        (10, "meeting", 0, 1),
        (1, "both", 3, 0),
    ]
