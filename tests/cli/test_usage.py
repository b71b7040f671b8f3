"""A command line that asks for what cannot be is a usage error (exit 2 or 64) naming the option
and what it accepts; never a configuration error (78) with an empty file name (issue 23, point 1).
Global options work before and after the command (point 3)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kith.analysis.kinds import KINDS
from kith.cli import app
from kith.cli.app import hoist_global_options
from kith.cli.demo_pipeline import DemoResult
from tests.cli.conftest import kith

runner = CliRunner()


def _usage_error(res: object, *words: str) -> str:
    out = res.stderr  # type: ignore[attr-defined]
    assert res.exit_code in (2, 64), (res.exit_code, out)  # type: ignore[attr-defined]
    assert "kith config check" not in out and "error: :" not in out, out
    text = " ".join(out.replace("│", " ").split())
    for word in words:
        assert word in text, (word, text)
    return text


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("flags", "--kind", "nosuch"), ("--kind", "nosuch", "unanswered", "reconnect")),
        (("flags", "--state", "shut"), ("--state", "shut", "open", "snoozed", "all")),
        (("flags", "snooze", "13", "--until", "yesterday"), ("--until", "yesterday", "YYYY-MM-DD")),
        (("flags", "snooze", "13", "--until", "2020-01-01"), ("--until", "2020-01-01", "not in the future")),
        (("report", "--date", "24/11/2026"), ("--date", "24/11/2026", "YYYY-MM-DD")),
        (("sync", "nosuch"), ("nosuch", "known: local")),
    ],
)
def test_bad_command_line_values_are_usage_errors(configured: Path, args: tuple[str, ...], words: tuple[str]) -> None:
    _usage_error(kith("--config", str(configured), *args), *words)


def test_init_on_an_existing_directory_is_a_usage_error(tmp_path: Path) -> None:
    assert kith("init", str(tmp_path)).exit_code == 0
    text = _usage_error(kith("init", str(tmp_path)), "already holds a configuration", "--force")
    assert f"kith --config {tmp_path / 'kith.toml'} config check" in text


def test_init_names_the_exact_check_command_and_it_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("KITH_CONFIG", raising=False)
    res = kith("init", str(tmp_path / "elsewhere"))
    assert res.exit_code == 0
    line = next(x for x in res.stdout.splitlines() if x.startswith("next:"))
    command = line.split("`")[1]
    assert command == f"kith --config {tmp_path / 'elsewhere' / 'kith.toml'} config check"
    assert kith(*command.split()[1:]).exit_code == 0  # what it says to run works
    # in the default place, no --config is needed
    res = kith("init", str(tmp_path / "xdg" / "kith"))
    assert "run `kith config check`" in res.stdout


@pytest.mark.parametrize("where", ["before", "after"])
def test_global_options_before_or_after_the_command(configured: Path, where: str) -> None:
    options = ["--config", str(configured), "-vv", "--quiet"]
    args = [*options, "status", "--json"] if where == "before" else ["status", "--json", *options]
    res = kith(*args)
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["mailboxes"] == []
    assert logging.getLogger().level == logging.ERROR  # --quiet wins over -vv
    res = kith("sync", "--json", f"--config={configured}", "-v")
    assert res.exit_code == 0 and logging.getLogger().level == logging.INFO


def test_hoisting_moves_only_the_global_options() -> None:
    assert hoist_global_options(["flags", "snooze", "3", "-c", "x.toml", "--until", "2030-01-01", "-vv"]) == [
        "-c", "x.toml", "-vv", "flags", "snooze", "3", "--until", "2030-01-01",
    ]  # fmt: skip
    assert hoist_global_options(["timeline", "--", "-v"]) == ["timeline", "--", "-v"]


def test_help_documents_v_as_a_counted_flag_and_quiet() -> None:
    res = runner.invoke(app, ["--help"], env={"COLUMNS": "200"})
    line = {w: next(x for x in res.stdout.splitlines() if w in x) for w in ("--verbose", "--quiet")}
    assert "<int>" not in line["--verbose"] and "-vv" in line["--verbose"]
    assert "errors" in line["--quiet"]


@pytest.mark.parametrize(
    ("spelling", "kind"),
    [
        ("respond", "unanswered"),
        ("pull back", "one_sided"),
        ("Pull-Back", "one_sided"),
        ("broadcast only", "broadcast_only"),
        ("BROADCAST_ONLY", "broadcast_only"),
        ("one_sided", "one_sided"),
        ("reconnect", "reconnect"),
    ],
)
def test_kind_takes_the_names_flags_shows(demo: DemoResult, spelling: str, kind: str) -> None:
    """`kith flags` shows "respond" and "pull back"; `--kind` takes them as well as the ids, in any
    case, with a space, - or _ (issue 23 point 2, issue 24 point 5)."""
    res = kith("--config", str(demo.config_path), "flags", "--kind", spelling, "--state", "all", "--json")
    assert res.exit_code == 0, res.output  # type: ignore[attr-defined]
    found = json.loads(res.stdout)  # type: ignore[attr-defined]
    assert found and {f["kind"] for f in found} == {kind}


def test_a_wrong_kind_lists_both_spellings_and_help_shows_them(configured: Path) -> None:
    text = _usage_error(kith("--config", str(configured), "flags", "--kind", "answer"), "--kind", "'answer'")
    assert all(k.id in text for k in KINDS)
    assert "unanswered (respond)" in text and "one_sided (pull back)" in text  # names that differ from the id
    res = runner.invoke(app, ["flags", "--help"], env={"COLUMNS": "200"})
    helptext = " ".join(res.stdout.replace("│", " ").split())
    assert "unanswered (respond)" in helptext and "one_sided (pull back)" in helptext


def test_kind_completes_to_ids_and_names() -> None:
    from kith.cli.analysis import _complete_kind

    assert _complete_kind("re") == [("respond", "respond"), ("reconnect", "reconnect")]
    assert _complete_kind("pu") == [("pull-back", "pull back")]
    assert [c for c, _ in _complete_kind("")] == [
        "unanswered", "respond", "broadcast_only", "broadcast-only", "one_sided", "pull-back", "reconnect",
    ]  # fmt: skip
    # through the shell's own protocol (what `kith --install-completion` wires up)
    env = {"_KITH_COMPLETE": "complete_bash", "COMP_WORDS": "kith flags --kind pu", "COMP_CWORD": "3"}
    res = runner.invoke(app, [], env=env, prog_name="kith")
    assert res.stdout.split() == ["pull-back"]
