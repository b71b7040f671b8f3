"""The CLI through Typer's CliRunner: thin commands, JSON for tools, errors with a hint and an exit code."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import kith


def test_sync_then_status_json(configured: Path) -> None:
    res = kith("--config", str(configured), "sync", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)[0]["upserts"] == 7
    res = kith("--config", str(configured), "status", "--json")
    data = json.loads(res.stdout)["mailboxes"]
    assert data[0]["name"] == "local" and data[0]["items"] == 7 and data[0]["state"] == "ok"
    inbox = next(s for s in data[0]["streams"] if s["name"] == "INBOX")
    assert inbox["role"] == "inbox" and inbox["last_error"] is None
    assert (configured.parent / "state" / "kith.db").exists()


def test_config_errors_name_file_and_key_and_exit_78(configured: Path) -> None:
    (configured.parent / "mailboxes.d" / "bad.toml").write_text(
        'kind = "maildir"\npath = "/x"\npoll_intervall = "5m"\n'
    )
    res = kith("--config", str(configured), "status")
    assert res.exit_code == 78
    assert "bad.toml: poll_intervall: unknown key" in res.stderr
    assert f"kith --config {configured} config check" in res.stderr  # the exact command, with its --config


def test_init_and_config_check(tmp_path: Path) -> None:
    res = kith("init", str(tmp_path / "cfg"))
    assert res.exit_code == 0 and "kith.toml" in res.stdout
    res = kith("--config", str(tmp_path / "cfg" / "kith.toml"), "config", "check", "--json")
    assert res.exit_code == 0
    assert json.loads(res.stdout)["mailboxes"]["example"]["kind"] == "imap"


def test_db_upgrade_reports_revision(configured: Path) -> None:
    res = kith("--config", str(configured), "db", "upgrade")
    assert res.exit_code == 0 and "revision" in res.stdout
