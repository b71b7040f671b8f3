"""``kith auth`` for Gmail: the installed-app flow (pasted redirect), service accounts, token files."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kith.connectors.gmail import authorize
from kith.connectors.gmail.auth import SCOPE_CALENDAR, SCOPE_SEND, token_path
from kith.errors import AuthError, ConfigError
from tests.connectors.contract import Replica
from tests.fixtures.gmail import CLIENT_ID, CLIENT_SECRET, SCOPE_METADATA, GmailEnv


@pytest.fixture(autouse=True)
def _plain_http_oauth(monkeypatch: pytest.MonkeyPatch) -> None:
    """oauthlib insists on https; the fake's endpoints are plain http on 127.0.0.1."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def consent(url: str) -> str:
    """What the user's browser does: open the consent URL, click allow, land on the redirect."""
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        opener.open(url)
    except urllib.error.HTTPError as exc:
        assert exc.code == 302
        return str(exc.headers["Location"])
    raise AssertionError("the consent page did not redirect")


def client_secrets(env: GmailEnv, tmp_path: Path) -> Path:
    path = tmp_path / "client_secret.json"
    path.write_text(
        json.dumps(
            {
                "installed": {
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "auth_uri": env.fake.url + "auth",
                    "token_uri": env.fake.token_uri,
                    "redirect_uris": ["http://localhost"],
                }
            }
        )
    )
    return path


def test_headless_flow_with_pasted_redirect(gmail_env: GmailEnv, tmp_path: Path) -> None:
    mailbox = gmail_env.mailbox(client_secrets_file=client_secrets(gmail_env, tmp_path))
    token_path(mailbox, gmail_env.state_dir).unlink()
    shown: list[str] = []

    def paste(_question: str) -> str:
        url = next(word for word in shown[-1].split() if word.startswith("http://127.0.0.1"))
        assert "code_challenge=" in url and "access_type=offline" in url
        return consent(url)

    line = authorize(mailbox, state_dir=gmail_env.state_dir, open_browser=False, prompt=paste, say=shown.append)
    path = token_path(mailbox, gmail_env.state_dir)
    assert str(path) in line and path.stat().st_mode & 0o777 == 0o600
    saved = json.loads(path.read_text())
    assert saved["refresh_token"] in gmail_env.fake.refresh_tokens
    assert set(saved["scopes"]) == {SCOPE_METADATA, SCOPE_CALENDAR}
    # and the new token works for a sync
    gmail_env.fake.mailbox.seed(3)
    source = gmail_env.source()
    assert len(Replica().sync(source, source.streams()[0]).items) == 3


def test_pasted_address_from_another_request_is_refused(gmail_env: GmailEnv, tmp_path: Path) -> None:
    mailbox = gmail_env.mailbox(client_secrets_file=client_secrets(gmail_env, tmp_path))
    with pytest.raises(AuthError, match="state mismatch"):
        authorize(
            mailbox,
            state_dir=gmail_env.state_dir,
            open_browser=False,
            prompt=lambda _q: "http://localhost:1/?state=forged&code=4/x",
            say=lambda _s: None,
        )
    with pytest.raises(AuthError, match="refused"):
        authorize(
            mailbox,
            state_dir=gmail_env.state_dir,
            open_browser=False,
            prompt=lambda _q: "http://localhost:1/?error=access_denied",
            say=lambda _s: None,
        )


def test_send_scope_only_when_asked(gmail_env: GmailEnv, tmp_path: Path) -> None:
    mailbox = gmail_env.mailbox(client_secrets_file=client_secrets(gmail_env, tmp_path))
    shown: list[str] = []
    with pytest.raises(AuthError):
        authorize(
            mailbox,
            state_dir=gmail_env.state_dir,
            send=True,
            open_browser=False,
            prompt=lambda _q: "",
            say=shown.append,
        )
    assert "gmail.send" in shown[-1] and SCOPE_SEND.rsplit("/", 1)[-1] in shown[-1]
    with pytest.raises(AuthError):
        authorize(mailbox, state_dir=gmail_env.state_dir, open_browser=False, prompt=lambda _q: "", say=shown.append)
    assert "gmail.send" not in shown[-1]


def test_missing_client_secrets_is_a_config_error(gmail_env: GmailEnv) -> None:
    with pytest.raises(ConfigError, match="client_secrets_file"):
        authorize(gmail_env.mailbox(), state_dir=gmail_env.state_dir, open_browser=False)


def test_non_interactive_check_refreshes_or_names_the_fix(gmail_env: GmailEnv) -> None:
    assert "valid" in authorize(gmail_env.mailbox(), state_dir=gmail_env.state_dir, interactive=False)
    assert gmail_env.fake.token_grants["refresh_token"] == 1
    gmail_env.fake.revoke()
    with pytest.raises(AuthError) as err:
        authorize(gmail_env.mailbox(), state_dir=gmail_env.state_dir, interactive=False)
    assert err.value.hint is not None and "kith auth work" in err.value.hint


def test_token_file_readable_by_others_is_refused(gmail_env: GmailEnv) -> None:
    path = token_path(gmail_env.mailbox(), gmail_env.state_dir)
    path.chmod(0o644)
    with pytest.raises(AuthError) as err:
        gmail_env.source()
    assert err.value.hint == f"chmod 600 {path}"


def test_service_account_with_domain_wide_delegation(gmail_env: GmailEnv, tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    sa = tmp_path / "sa.json"
    sa.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "kith-test",
                "private_key_id": "k1",
                "private_key": pem.decode(),
                "client_email": "kith@kith-test.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": gmail_env.fake.token_uri,
            }
        )
    )
    gmail_env.fake.mailbox.seed(4)
    source = gmail_env.source(service_account_file=sa, delegated_user="me@example.com")
    rep = Replica().sync(source, source.streams()[0])
    assert len(rep.items) == 4 and gmail_env.fake.subjects == ["me@example.com"]
    line = authorize(
        gmail_env.mailbox(service_account_file=sa, delegated_user="me@example.com"), state_dir=gmail_env.state_dir
    )
    assert "me@example.com" in line
    with pytest.raises(ConfigError, match="delegated_user"):
        gmail_env.source(service_account_file=sa)


def test_least_privilege_scopes_and_why_they_are_asked_for(gmail_env: GmailEnv, tmp_path: Path) -> None:
    mailbox = gmail_env.mailbox(client_secrets_file=client_secrets(gmail_env, tmp_path))
    shown: list[str] = []
    with pytest.raises(AuthError):
        authorize(mailbox, state_dir=gmail_env.state_dir, open_browser=False, prompt=lambda _q: "", say=shown.append)
    asked, url = shown[0], shown[-1]
    assert "gmail.metadata: read message headers" in asked and "calendar.events.readonly: read" in asked
    assert "gmail.send" not in asked and "calendar.readonly" not in url and "calendar.events.readonly" in url
    no_calendar = gmail_env.mailbox(client_secrets_file=mailbox.client_secrets_file, calendar=False)
    with pytest.raises(AuthError):
        authorize(
            no_calendar, state_dir=gmail_env.state_dir, open_browser=False, prompt=lambda _q: "", say=shown.append
        )
    assert "calendar" not in shown[-1].split("scope=", 1)[1].split("&", 1)[0]


def test_a_token_with_broader_scopes_from_an_older_kith_still_works(gmail_env: GmailEnv) -> None:
    gmail_env.write_token(scopes=(SCOPE_METADATA, "https://www.googleapis.com/auth/calendar.readonly"))
    source = gmail_env.calendar_source()
    Replica().sync(source, source.streams()[0])
    assert SCOPE_CALENDAR.endswith("calendar.events.readonly")
