"""msal against the fake's login endpoints: device code, the 0600 cache, silent refresh, revocation."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from kith.connectors.graph import authorize, make_calendar_source, make_source
from kith.connectors.graph.auth import MsalTokens, cache_path
from kith.errors import AuthError
from tests.connectors.contract import Replica
from tests.fakes.graph import LoginClient
from tests.fixtures.graph import GraphEnv


@pytest.fixture(autouse=True)
def _msal_to_fake(graph_env: GraphEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    """msal insists on https authorities; route https://login.fake.test to the fake instead."""
    monkeypatch.setattr("kith.connectors.graph.auth.msal_http_client", lambda: LoginClient(graph_env.fake.url))


def sign_in(env: GraphEnv, **extra: object) -> list[str]:
    shown: list[str] = []

    def say(message: str) -> None:
        shown.append(message)
        code = re.search(r"enter the code (\S+)", message)
        assert code is not None
        env.fake.approve(code.group(1))  # the user signs in on their phone meanwhile

    line = authorize(env.mailbox(**extra), state_dir=env.state_dir, say=say)  # type: ignore[arg-type]
    shown.append(line)
    return shown


def test_device_code_sign_in_writes_a_private_cache(graph_env: GraphEnv) -> None:
    shown = sign_in(graph_env)
    assert "https://microsoft.com/devicelogin" in shown[0] and "FAKE" in shown[0]
    path = cache_path(graph_env.mailbox(), graph_env.state_dir)
    assert str(path) in shown[-1] and "me@example.com" in shown[-1]
    assert path.stat().st_mode & 0o777 == 0o600
    cache = json.loads(path.read_text())
    assert cache["RefreshToken"] and cache["AccessToken"] and cache["Account"]
    assert graph_env.fake.token_grants["urn:ietf:params:oauth:grant-type:device_code"] == 1


def test_silent_token_then_refresh_rotates_and_persists(graph_env: GraphEnv) -> None:
    sign_in(graph_env)
    path = cache_path(graph_env.mailbox(), graph_env.state_dir)
    before = path.read_text()
    tokens = MsalTokens(graph_env.mailbox(), graph_env.state_dir)
    first = tokens()
    assert first in graph_env.fake.access_tokens and graph_env.fake.token_grants["refresh_token"] == 0
    fresh = tokens(force_refresh=True)
    assert fresh != first and graph_env.fake.token_grants["refresh_token"] == 1
    after = path.read_text()
    assert after != before and path.stat().st_mode & 0o777 == 0o600
    new_rt = next(iter(json.loads(after)["RefreshToken"].values()))["secret"]
    assert new_rt in graph_env.fake.refresh_tokens, "the rotated refresh token was not saved"


def test_sync_through_msal_refreshes_on_401_and_revocation_names_the_fix(graph_env: GraphEnv) -> None:
    sign_in(graph_env)
    graph_env.fake.mailbox.add("inbox", message_id="<a@x>")
    source = make_source(graph_env.mailbox(), state_dir=graph_env.state_dir)
    stream = source.streams()[0]
    rep = Replica().sync(source, stream)
    graph_env.fake.expire_access_tokens()  # Graph refuses the cached token: one refresh, then on
    graph_env.fake.mailbox.add("inbox", message_id="<b@x>")
    rep.sync(source, stream)
    assert len(rep.items) == 2 and graph_env.fake.token_grants["refresh_token"] == 1
    graph_env.fake.revoke()
    graph_env.fake.mailbox.add("inbox", message_id="<c@x>")
    with pytest.raises(AuthError) as err:
        rep.sync(source, stream)
    assert "invalid_grant" in str(err.value) and err.value.hint is not None and "kith auth work" in err.value.hint
    assert graph_env.fake.token_grants["refresh_token"] == 2, "a refused refresh must not be retried"
    with pytest.raises(AuthError):
        authorize(graph_env.mailbox(), state_dir=graph_env.state_dir, interactive=False)


def test_missing_or_readable_cache_is_an_auth_error(graph_env: GraphEnv) -> None:
    with pytest.raises(AuthError) as err:
        make_source(graph_env.mailbox(), state_dir=graph_env.state_dir)
    assert err.value.hint is not None and "kith auth work" in err.value.hint
    sign_in(graph_env)
    path = cache_path(graph_env.mailbox(), graph_env.state_dir)
    path.chmod(0o644)
    with pytest.raises(AuthError) as err:
        make_calendar_source(graph_env.mailbox(), state_dir=graph_env.state_dir)
    assert err.value.hint == f"chmod 600 {path}"


def test_non_interactive_check_refreshes(graph_env: GraphEnv) -> None:
    sign_in(graph_env)
    line = authorize(graph_env.mailbox(), state_dir=graph_env.state_dir, interactive=False)
    assert "valid" in line and graph_env.fake.token_grants["refresh_token"] == 1


def test_client_credentials(graph_env: GraphEnv, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text(graph_env.fake.client_secret + "\n")
    secret.chmod(0o600)
    extra = {"auth": "client_credentials", "user": "me@example.com", "client_secret_file": secret}
    line = authorize(graph_env.mailbox(**extra), state_dir=graph_env.state_dir)  # type: ignore[arg-type]
    assert "app-only" in line and graph_env.fake.token_grants["client_credentials"] == 1
    graph_env.fake.mailbox.add("inbox", message_id="<app@x>")
    source = make_source(graph_env.mailbox(**extra), state_dir=graph_env.state_dir)  # type: ignore[arg-type]
    stream = source.streams()[0]
    rep = Replica().sync(source, stream)
    assert len(rep.items) == 1
    graph_env.fake.expire_access_tokens()  # a 401 must drop msal's cached app token, not reuse it
    graph_env.fake.mailbox.add("inbox", message_id="<app2@x>")
    rep.sync(source, stream)
    assert len(rep.items) == 2
    secret.write_text("wrong")
    with pytest.raises(AuthError, match="invalid_client"):
        authorize(graph_env.mailbox(**extra), state_dir=graph_env.state_dir / "other")  # type: ignore[arg-type]


def test_two_providers_of_one_mailbox_follow_each_others_rotation(graph_env: GraphEnv) -> None:
    """Mail and calendar each hold a provider; a refresh by one rotates the refresh token."""
    sign_in(graph_env)
    mail = MsalTokens(graph_env.mailbox(), graph_env.state_dir)
    calendar = MsalTokens(graph_env.mailbox(), graph_env.state_dir)
    assert mail() == calendar()  # both from the cache, no token request
    mail(force_refresh=True)  # the fake retires the old refresh token
    assert calendar(force_refresh=True) in graph_env.fake.access_tokens
    assert graph_env.fake.token_grants["refresh_token"] == 2


def test_least_privilege_scopes_and_why_they_are_asked_for(graph_env: GraphEnv) -> None:
    shown = sign_in(graph_env, fetch_headers=False, calendar=False)
    asked = graph_env.fake.scopes_asked[-1]
    assert set(asked.split()) - {"openid", "profile", "offline_access"} == {"Mail.ReadBasic"}
    assert "Mail.ReadBasic: read message headers" in shown[0]
    sign_in(graph_env)  # raw headers and a Graph calendar: Mail.Read and Calendars.Read, never Mail.Send
    asked = graph_env.fake.scopes_asked[-1]
    assert set(asked.split()) - {"openid", "profile", "offline_access"} == {"Mail.Read", "Calendars.Read"}
