"""``kith auth work`` then ``kith sync`` / ``kith status`` for a Graph mailbox, config files and all."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kith.cli import app
from tests.fakes.graph import LOGIN_HOST, LoginClient
from tests.fixtures.graph import CLIENT_ID, TENANT, GraphEnv

runner = CliRunner()


@pytest.fixture
def configured(graph_env: GraphEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr("kith.connectors.graph.auth.msal_http_client", lambda: LoginClient(graph_env.fake.url))
    monkeypatch.setattr("kith.cli.auth.interactive", lambda: True)
    (tmp_path / "mailboxes.d").mkdir()
    (tmp_path / "kith.toml").write_text(
        f'state_dir = "{tmp_path / "state"}"\n[me]\naddresses = ["{graph_env.fake.user_email}"]\n'
    )
    (tmp_path / "mailboxes.d" / "work.toml").write_text(
        f'kind = "graph"\nclient_id = "{CLIENT_ID}"\ntenant_id = "{TENANT}"\n'
        f'authority = "{LOGIN_HOST}/{TENANT}"\napi_endpoint = "{graph_env.fake.api_url}"\n'
        f'addresses = ["{graph_env.fake.user_email}"]\n\n[calendar]\nkind = "graph"\n'
    )
    return tmp_path / "kith.toml"


def kith(*args: str) -> object:
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_auth_sync_status_and_revocation(graph_env: GraphEnv, configured: Path) -> None:
    fake = graph_env.fake
    fake.auto_approve = True  # the user signs in while kith polls
    for i in range(12):
        fake.mailbox.add("inbox" if i % 3 else "sentitems", message_id=f"<cli{i}@x>")
    fake.calendar.put("ev", start=datetime.now(UTC) + timedelta(days=1))
    res = kith("--config", str(configured), "auth", "work")
    assert res.exit_code == 0, res.output
    assert "microsoft.com/devicelogin" in res.output and "FAKE" in res.output and "0600" in res.output
    res = kith("--config", str(configured), "sync", "--json")
    assert res.exit_code == 0, res.output
    assert sum(r["upserts"] for r in json.loads(res.stdout)) == 13
    fake.revoke()
    fake.mailbox.add("inbox", message_id="<late@x>")
    kith("--config", str(configured), "sync", "--json")
    res = kith("--config", str(configured), "status", "--json")
    status = json.loads(res.stdout)["mailboxes"][0]
    assert status["name"] == "work" and "kith auth work" in json.dumps(status)
