"""Findings 4 and 11 (secrets): ``kith -v auth NAME`` logged the OAuth refresh and access tokens,
the authorization code and the client secret; ``config check`` and ``status`` printed a password
given in a database URL's query string; ``kith auth NAME --headless`` could not do a first
authorization. Through the Gmail fake, the real OAuth libraries, and the ``kith`` command."""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kith.cli import app
from kith.cli.common import setup_logging
from kith.connectors.gmail import authorize
from kith.connectors.gmail.auth import token_path
from tests.connectors.gmail.test_auth import client_secrets, consent
from tests.fixtures.gmail import CLIENT_ID, CLIENT_SECRET, GmailEnv


def secrets_of(env: GmailEnv, path: Path, redirect: str) -> list[str]:
    """Every secret value the flow handled: client secret (plain and in Basic auth), the
    authorization code, the tokens obtained."""
    saved = json.loads(path.read_text())
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(redirect).query)["code"][0]
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    return [CLIENT_SECRET, basic, code, saved["refresh_token"], saved["token"]]


@pytest.fixture(autouse=True)
def _plain_http_oauth(monkeypatch: pytest.MonkeyPatch) -> None:
    """oauthlib insists on https; the fake's endpoints are plain http on 127.0.0.1."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


def test_the_oauth_flow_at_debug_level_logs_no_secret(
    gmail_env: GmailEnv, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    mailbox = gmail_env.mailbox(client_secrets_file=client_secrets(gmail_env, tmp_path))
    token_path(mailbox, gmail_env.state_dir).unlink()
    setup_logging(2, False)  # kith -vv
    shown: list[str] = []
    redirect: list[str] = []

    def paste(_question: str) -> str:
        url = next(word for word in shown[-1].split() if word.startswith("http://127.0.0.1"))
        redirect.append(consent(url))
        return redirect[0]

    authorize(mailbox, state_dir=gmail_env.state_dir, open_browser=False, prompt=paste, say=shown.append)
    logged = capfd.readouterr().err
    assert logging.getLogger().level == logging.DEBUG  # the logging was on
    for secret in secrets_of(gmail_env, token_path(mailbox, gmail_env.state_dir), redirect[0]):
        assert secret not in logged


def _config(tmp_path: Path, mailbox: str, database: str = "") -> Path:
    (tmp_path / "mailboxes.d").mkdir(exist_ok=True)
    (tmp_path / "kith.toml").write_text(
        f'state_dir = "{tmp_path / "state"}"\n[me]\naddresses = ["me@example.com"]\n' + database
    )
    (tmp_path / "mailboxes.d" / "gmail.toml").write_text(mailbox)
    return tmp_path / "kith.toml"


def test_kith_auth_headless_authorizes_a_new_mailbox_and_logs_no_secret(gmail_env: GmailEnv, tmp_path: Path) -> None:
    secrets_file = client_secrets(gmail_env, tmp_path)
    config = _config(
        tmp_path,
        f'kind = "gmail"\nclient_secrets_file = "{secrets_file}"\napi_endpoint = "{gmail_env.fake.url}"\n'
        f'token_uri = "{gmail_env.fake.token_uri}"\naddresses = ["{gmail_env.fake.mailbox.email}"]\n',
    )
    env = {**os.environ, "OAUTHLIB_INSECURE_TRANSPORT": "1", "KITH_CONFIG": str(config)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kith", "-vv", "auth", "gmail", "--headless"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None and proc.stdin is not None
    seen = ""
    for line in proc.stdout:
        seen += line
        url = next((w for w in line.split() if w.startswith("http://127.0.0.1")), None)
        if url:
            redirect = consent(url)
            proc.stdin.write(redirect + "\n")
            proc.stdin.flush()
            break
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, seen + out + err
    path = tmp_path / "state" / "tokens" / "gmail.json"
    path = path if path.exists() else next((tmp_path / "state").rglob("*.json"))
    assert "authorized gmail" in out
    for secret in secrets_of(gmail_env, path, redirect):
        assert secret not in seen + out + err


def test_a_password_in_a_database_url_is_never_printed(tmp_path: Path) -> None:
    url = (
        "postgresql+psycopg://kith:userinfo-pw@127.0.0.1:1/kith?password=query-pw&sslpassword=key-pw&connect_timeout=1"
    )
    config = _config(
        tmp_path,
        f'kind = "maildir"\npath = "{tmp_path}"\n',
        database=f'[database]\nurl = "{url}"\n',
    )
    runner = CliRunner()
    checked = runner.invoke(app, ["--config", str(config), "config", "check", "--json"])
    assert checked.exit_code == 0, checked.output
    status = runner.invoke(app, ["--config", str(config), "status"])
    assert status.exit_code != 0  # nothing listens on port 1
    for output in (checked.output, status.output):
        for secret in ("userinfo-pw", "query-pw", "key-pw"):
            assert secret not in output
    assert "127.0.0.1:1/kith" in checked.output and "127.0.0.1" in status.output
