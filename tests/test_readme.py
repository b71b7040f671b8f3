"""The README's examples, run (issue 23, point 11): they cannot rot unnoticed.

Every code block of README.md is claimed by one test below, and a line none of them knows how to
run fails the suite, so a new example has to be taught here rather than silently skipped:

- the quick start's commands run in order in a throwaway home (the step that says to edit the
  mailbox file writes a Maildir mailbox of a small generated sample; ``kith run`` starts the
  daemon until `kith status` sees its heartbeat);
- the config-error example is compared, line for line, with what kith prints for those mistakes;
- the commands table's commands and options exist in the CLI;
- ``make`` targets exist in the Makefile, the systemd units exist; the data-flow diagram is prose.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from kith.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```[a-z]*\n(.*?)^```", README, flags=re.M | re.S)


def block(marker: str) -> list[str]:
    found = [b for b in BLOCKS if marker in b]
    assert len(found) == 1, f"one README block holds {marker!r}"
    return found[0].rstrip("\n").splitlines()


#: What claims each block (a marker found in it); test_every_block_is_claimed checks the list.
CLAIMS = {
    "make demo ": "test_make_targets_exist",
    "$ kith --config": "test_config_error_example_is_what_kith_prints",
    "systemctl enable --now kith": "test_systemd_example_names_real_files",
    "connector.pull(stream, cursor)": "a diagram, not commands",
    "make venv ": "test_make_targets_exist",
}


def test_every_block_is_claimed() -> None:
    for b in BLOCKS:
        assert [m for m in CLAIMS if m in b], f"no test runs this README block:\n{b}"


def _without_comment(line: str) -> str:
    return re.sub(r"\s+#.*$", "", line).strip()


def test_make_targets_exist() -> None:
    makefile = (ROOT / "Makefile").read_text()
    for b in BLOCKS:
        for line in b.splitlines():
            if line.startswith("make "):
                target = _without_comment(line).split()[1]
                assert re.search(rf"^{re.escape(target)}:", makefile, flags=re.M), f"no make target {target}"


def test_systemd_example_names_real_files() -> None:
    for line in block("systemctl enable --now kith"):
        for unit in re.findall(r"(?<![/\w])systemd/[\w.-]+", line):
            assert (ROOT / unit).is_file(), unit


def _cli() -> Any:
    """The click group Typer builds (Typer vendors its own click, so it is walked by attributes)."""
    return typer.main.get_command(app)


def _command(words: list[str]) -> Any:
    """The click command of ``kith WORDS…`` (subcommand groups walked)."""
    command = _cli()
    for word in words:
        subcommands = getattr(command, "commands", None)
        assert subcommands is not None, f"`kith {' '.join(words)}`: {command.name} has no subcommands"
        assert word in subcommands, f"README names `kith {' '.join(words)}`, which does not exist"
        command = subcommands[word]
    return command


def test_the_commands_table_matches_the_cli() -> None:
    table = README.split("## Commands", 1)[1].split("\n## ", 1)[0]
    spans = re.findall(r"`(kith [^`]+)`", table)
    assert len(spans) >= 15
    for span in spans:
        path: list[list[str]] = []  # each word of the command, with its alternatives (a\|b)
        for word in span.split()[1:]:
            if not re.fullmatch(r"[a-z]+(\\\|[a-z]+)*", word):
                break
            path.append(word.split("\\|"))
        commands = [_command(list(words)) for words in itertools.product(*path)]
        options = {o for c in commands for p in c.params for o in (*p.opts, *p.secondary_opts)}
        options |= {o for p in _cli().params for o in p.opts}  # the global ones go anywhere
        for option in re.findall(r"--[a-z-]+", span):
            assert option in options, f"`{span}`: {option} is not an option of it"


def test_global_options_the_readme_promises() -> None:
    assert {"--config", "-v", "--quiet"} <= {o for p in _cli().params for o in p.opts}


def test_config_error_example_is_what_kith_prints(tmp_path: Path) -> None:
    lines = block("$ kith --config")
    command, expected = lines[0].removeprefix("$ "), lines[1:]
    etc = tmp_path / "etc" / "kith"
    (etc / "mailboxes.d").mkdir(parents=True)
    (etc / "kith.toml").write_text('[analysis]\nunanswerd_after = "2d"\n')
    (etc / "work.pw").write_text("secret\n")
    (etc / "work.pw").chmod(0o644)
    (etc / "mailboxes.d" / "work.toml").write_text(
        f'kind = "imap"\nhost = "imap.example.com"\nusername = "me"\npassword_file = "{etc / "work.pw"}"\n'
    )
    args = shlex.split(command.replace("/etc/kith", str(etc)))[1:]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 78
    assert res.stderr.replace(str(tmp_path), "").splitlines() == expected


def _kith(env: dict[str, str], cwd: Path, *args: str) -> Any:
    """`kith ARGS` in this process (a subprocess per line costs seconds of imports), in ``env``."""
    old = Path.cwd()
    os.chdir(cwd)
    unset: dict[str, str | None] = {k: None for k in os.environ if k not in env}
    try:
        return CliRunner().invoke(app, list(args), env={**unset, **env}, catch_exceptions=False)
    finally:
        os.chdir(old)


def quick_start() -> list[str]:
    """The commands the quick start's steps name, in order."""
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"`(\.venv/bin/kith [^`]+)`", section)


@pytest.mark.integration
def test_quick_start_runs(tmp_path: Path) -> None:
    from kith.sample import generate

    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KITH_", "XDG_"))}
    env.update(HOME=str(home), COLUMNS="100")
    sample = generate(tmp_path / "sample", seed=2, messages=300)
    work = next(m for m in sample.mailboxes if m.name == "work")
    commands = quick_start()
    assert [c.split()[1] for c in commands] == ["init", "check", "sync", "flags", "report", "run", "config"]
    for command in commands:
        words = [str(home) + w[1:] if w.startswith("~/") else w for w in shlex.split(command)][1:]
        if words[0] == "run":
            _run_daemon_until_it_beats(env, tmp_path)
            continue
        res = _kith(env, tmp_path, *words)
        if words[0] == "check":  # a local Maildir has no account to look at: nothing is wrong with it
            assert res.exit_code == 0, f"{command}\n{res.output}"
            continue
        assert res.exit_code == 0, f"{command}\n{res.output}"
        if words[0] == "init":  # step 1 then says: rename the example after your mailbox, and edit it
            example = home / ".config" / "kith" / "mailboxes.d" / "example.toml"
            assert example.exists() and "rename that after your mailbox" in " ".join(README.split())
            example.unlink()
            (example.parent / "work.toml").write_text(
                f'kind = "maildir"\npath = "{work.path}"\naddresses = {json.dumps(list(work.addresses))}\n'
            )
    assert (tmp_path / "report.html").exists()


def _run_daemon_until_it_beats(env: dict[str, str], cwd: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "kith", "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status = _kith(env, cwd, "status", "--json")
            if status.exit_code == 0 and json.loads(status.stdout)["daemon"]["running"]:
                break
            assert proc.poll() is None, proc.communicate()[0]
            time.sleep(0.3)
        else:
            pytest.fail("`kith run` never showed up in `kith status`")
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    status = json.loads(_kith(env, cwd, "status", "--json").stdout)
    assert status["daemon"]["running"] == [] and status["daemon"]["last_seen"] is not None  # stopped cleanly
