"""Report delivery through the Gmail API and Microsoft Graph send endpoints, against the local fakes.

``[report] deliver = "gmail"`` / ``"graph"`` with ``mailbox = NAME``: the message goes through the
connector's own client and credentials (a google-auth token file; msal against the fake's login),
once per (date, recipient), and a throttled send is retried within the attempt or recorded as
failed with the ledger's backoff, the retry reusing the Message-ID.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest

from kith.config.load import Config
from kith.config.mailboxes import GmailMailbox, GraphMailbox
from kith.config.models import GlobalConfig, MeConfig, ReportConfig
from kith.connectors.gmail import send as gmail_send
from kith.connectors.gmail.auth import SCOPE_CALENDAR, SCOPE_SEND, token_path
from kith.connectors.graph import authorize as graph_authorize
from kith.connectors.graph import send as graph_send
from kith.connectors.graph.auth import cache_path
from kith.errors import AuthError, TransientError
from kith.report.api import send_built
from kith.report.data import Built
from kith.store import reports
from kith.store.engine import Store
from tests.fakes.graph import LoginClient
from tests.fixtures.gmail import SCOPE_METADATA, GmailEnv
from tests.fixtures.graph import GraphEnv
from tests.report.builders import report_data

DAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
OWNER = "me@example.com"  # the fakes' user: the report goes to the owner, through the owner's mailbox


def config_for(kind: str, mailbox: GmailMailbox | GraphMailbox, state_dir: Path, **report: Any) -> Config:
    settings = GlobalConfig(
        me=MeConfig(name="Zoë Šimek", addresses=(OWNER,)),
        state_dir=state_dir,
        report=ReportConfig(to=OWNER, deliver=kind, mailbox=mailbox.name, timezone="Europe/Berlin", **report),
    )
    return Config(settings=settings, mailboxes=(mailbox,))


def built(day: date = DAY) -> Built:
    return Built(report_data(day=day, names=("Łukasz Żółć",)), stages={})


def parse(raw: bytes) -> EmailMessage:
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(msg, EmailMessage)
    return msg


def row(store: Store) -> dict[str, Any]:
    with store.session() as s:
        found = reports.row_for(s, day=DAY, recipient=OWNER)
    assert found is not None
    return found


def check_report(raw: bytes, message_id: str) -> None:
    """What every delivery path must hand over: the whole report, as the SMTP tests check it."""
    msg = parse(raw)
    assert msg["Message-ID"] == message_id
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["Date"] and msg["Date"].endswith("+0100")
    assert str(msg["To"]) == f"Zoë Šimek <{OWNER}>"
    assert msg.get_content_type() == "multipart/alternative"
    text, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert text is not None and html is not None
    assert "RESPOND AND ACKNOWLEDGE" in text.get_content() and "Łukasz Żółć" in text.get_content()
    assert "Respond and acknowledge" in html.get_content()
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii() and b"\n" not in head.replace(b"\r\n", b"")  # 7-bit, CRLF, as on the wire


def check_backoff(store: Store, send: Any) -> str:
    """A send that failed for good is recorded with the ledger's backoff; the retry reuses its Message-ID."""
    failed = row(store)
    assert failed["status"] == "failed" and failed["attempts"] == 1
    assert failed["next_attempt_at"] == NOW + reports.FIRST_RETRY
    assert "TransientError" in failed["error"] and "429" in failed["error"]
    assert send(NOW + timedelta(minutes=1)) is None  # still backing off: nothing sent
    retried = send(NOW + reports.FIRST_RETRY + timedelta(minutes=1))
    assert retried == failed["message_id"]
    done = row(store)
    assert (done["status"], done["attempts"], done["error"]) == ("sent", 2, None)
    return str(retried)


# -- Gmail ------------------------------------------------------------------------------------


@pytest.fixture
def gmail(gmail_env: GmailEnv, monkeypatch: pytest.MonkeyPatch) -> GmailEnv:
    """The owner's Gmail mailbox with a token that may send (what `kith auth` gets for deliver = "gmail")."""
    gmail_env.write_token(scopes=(SCOPE_METADATA, SCOPE_CALENDAR, SCOPE_SEND))
    monkeypatch.setattr(gmail_send, "SEND_RETRY", gmail_env.retry(attempts=3))
    return gmail_env


def gmail_config(env: GmailEnv) -> Config:
    return config_for("gmail", env.mailbox(), env.state_dir)


def test_gmail_sends_the_report_once(sqlite_store: Store, gmail: GmailEnv) -> None:
    fake, config = gmail.fake, gmail_config(gmail)
    first = send_built(sqlite_store, config, built(), day=DAY, now=NOW)
    assert first is not None
    assert send_built(sqlite_store, config, built(), day=DAY, now=NOW + timedelta(minutes=1)) is None
    assert len(fake.mailbox.sent) == 1 and fake.calls["messages.send"] == 1
    check_report(fake.mailbox.sent[0], first)
    assert row(sqlite_store)["status"] == "sent"
    # Gmail files the message sent to oneself under SENT and in the INBOX, unread
    copy = fake.mailbox.messages[fake.mailbox.find("Message-ID", first)]
    assert copy.labels == {"SENT", "INBOX", "UNREAD"}
    forced = send_built(sqlite_store, config, built(), day=DAY, now=NOW + timedelta(minutes=2), force=True)
    assert forced not in (None, first) and len(fake.mailbox.sent) == 2


def test_gmail_throttled_once_is_retried_after_retry_after(sqlite_store: Store, gmail: GmailEnv) -> None:
    gmail.fake.fail("messages.send", 429, retry_after="7")
    sent = send_built(sqlite_store, gmail_config(gmail), built(), day=DAY, now=NOW)
    assert sent is not None
    assert gmail.fake.calls["messages.send"] == 2 and len(gmail.fake.mailbox.sent) == 1
    assert gmail.sleeps == [7.0]  # Retry-After honoured (recorded, not slept)
    assert (row(sqlite_store)["status"], row(sqlite_store)["attempts"]) == ("sent", 1)


def test_gmail_throttled_throughout_backs_off_then_resends_with_the_same_message_id(
    sqlite_store: Store, gmail: GmailEnv
) -> None:
    config = gmail_config(gmail)
    gmail.fake.fail("messages.send", 429, count=3, retry_after="30")

    def send(now: datetime) -> str | None:
        return send_built(sqlite_store, config, built(), day=DAY, now=now, respect_backoff=True)

    with pytest.raises(TransientError) as err:
        send(NOW)
    assert err.value.retry_after == 30.0 and gmail.fake.mailbox.sent == []
    resent = check_backoff(sqlite_store, send)
    (raw,) = gmail.fake.mailbox.sent
    check_report(raw, resent)


def test_gmail_token_without_the_send_scope_names_kith_auth(sqlite_store: Store, gmail: GmailEnv) -> None:
    gmail.write_token()  # what `kith auth` got before the report went out through Gmail
    with pytest.raises(AuthError, match=r"gmail\.send") as err:
        send_built(sqlite_store, gmail_config(gmail), built(), day=DAY, now=NOW)
    assert err.value.hint is not None and "kith auth work" in err.value.hint
    assert gmail.fake.calls["messages.send"] == 0, "nothing is sent with a token that cannot send"
    failed = row(sqlite_store)
    assert failed["status"] == "failed" and "AuthError" in failed["error"]


def test_gmail_refusing_the_scope_is_an_auth_error(sqlite_store: Store, gmail: GmailEnv) -> None:
    """The token file claims gmail.send but Google disagrees (consent withdrawn for that scope): 403."""
    path = gmail.write_token(scopes=(SCOPE_METADATA, SCOPE_CALENDAR, SCOPE_SEND))
    access = re.search(r'"token": "([^"]+)"', path.read_text())
    assert access is not None and path == token_path(gmail.mailbox(), gmail.state_dir)
    gmail.fake.access_tokens[access.group(1)] = {"scopes": [SCOPE_METADATA, SCOPE_CALENDAR]}
    with pytest.raises(AuthError, match="insufficient") as err:
        send_built(sqlite_store, gmail_config(gmail), built(), day=DAY, now=NOW)
    assert err.value.hint is not None and "kith auth work" in err.value.hint
    assert gmail.fake.calls["messages.send"] == 1 and gmail.fake.mailbox.sent == []
    assert row(sqlite_store)["status"] == "failed"


# -- Microsoft Graph --------------------------------------------------------------------------


@pytest.fixture
def graph(graph_env: GraphEnv, monkeypatch: pytest.MonkeyPatch) -> GraphEnv:
    """msal against the fake's login endpoints; retries that record their waits instead of sleeping."""
    monkeypatch.setattr("kith.connectors.graph.auth.msal_http_client", lambda: LoginClient(graph_env.fake.url))
    monkeypatch.setattr(graph_send, "SEND_RETRY", graph_env.retry(attempts=3))
    return graph_env


def sign_in(env: GraphEnv) -> GraphMailbox:
    """`kith auth work` with deliver = "graph": the device-code sign-in, consenting to Mail.Send."""
    mailbox = env.mailbox()

    def say(message: str) -> None:
        code = re.search(r"enter the code (\S+)", message)
        assert code is not None
        env.fake.approve(code.group(1))

    graph_authorize(mailbox, state_dir=env.state_dir, send=True, say=say)  # type: ignore[call-arg]
    cache = json.loads(cache_path(mailbox, env.state_dir).read_text())
    assert any("mail.send" in at["target"].lower().split() for at in cache["AccessToken"].values())
    return mailbox


def graph_config(env: GraphEnv, mailbox: GraphMailbox, **report: Any) -> Config:
    return config_for("graph", mailbox, env.state_dir, **report)


def test_graph_sends_the_report_once_through_me(sqlite_store: Store, graph: GraphEnv) -> None:
    fake, config = graph.fake, graph_config(graph, sign_in(graph))
    first = send_built(sqlite_store, config, built(), day=DAY, now=NOW)
    assert first is not None
    assert send_built(sqlite_store, config, built(), day=DAY, now=NOW + timedelta(minutes=1)) is None
    assert len(fake.mailbox.sent) == 1 and fake.calls["sendMail"] == 1 and fake.senders == ["me"]
    check_report(fake.mailbox.sent[0], first)
    assert row(sqlite_store)["status"] == "sent"
    assert fake.mailbox.find(first) in fake.mailbox.in_folder("sentitems") | fake.mailbox.in_folder("inbox")


def test_graph_app_only_sends_through_the_users_path(sqlite_store: Store, graph: GraphEnv, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text(graph.fake.client_secret)
    secret.chmod(0o600)
    mailbox = graph.mailbox(auth="client_credentials", user=OWNER, client_secret_file=secret)
    sent = send_built(sqlite_store, graph_config(graph, mailbox), built(), day=DAY, now=NOW)
    assert sent is not None and graph.fake.senders == [f"users/{OWNER}"]
    check_report(graph.fake.mailbox.sent[0], sent)
    assert graph.fake.token_grants["client_credentials"] == 1


def test_graph_throttled_once_is_retried_after_retry_after(sqlite_store: Store, graph: GraphEnv) -> None:
    config = graph_config(graph, sign_in(graph))
    graph.fake.fail("sendMail", 429, retry_after="7")
    assert send_built(sqlite_store, config, built(), day=DAY, now=NOW) is not None
    assert graph.fake.calls["sendMail"] == 2 and len(graph.fake.mailbox.sent) == 1
    assert graph.sleeps == [7.0]
    assert (row(sqlite_store)["status"], row(sqlite_store)["attempts"]) == ("sent", 1)


def test_graph_throttled_throughout_backs_off_then_resends_with_the_same_message_id(
    sqlite_store: Store, graph: GraphEnv
) -> None:
    config = graph_config(graph, sign_in(graph))
    graph.fake.fail("sendMail", 429, count=3, retry_after="30")

    def send(now: datetime) -> str | None:
        return send_built(sqlite_store, config, built(), day=DAY, now=now, respect_backoff=True)

    with pytest.raises(TransientError) as err:
        send(NOW)
    assert err.value.retry_after == 30.0 and graph.fake.mailbox.sent == []
    resent = check_backoff(sqlite_store, send)
    (raw,) = graph.fake.mailbox.sent
    check_report(raw, resent)


def test_graph_forbidden_names_mail_send(sqlite_store: Store, graph: GraphEnv) -> None:
    config = graph_config(graph, sign_in(graph))
    graph.fake.fail("sendMail", 403, code="ErrorAccessDenied")
    with pytest.raises(AuthError, match=r"Mail\.Send") as err:
        send_built(sqlite_store, config, built(), day=DAY, now=NOW)
    assert err.value.hint is not None and "Mail.Send" in err.value.hint and "kith auth work" in err.value.hint
    assert graph.fake.calls["sendMail"] == 1, "a refused permission is not retried"
    failed = row(sqlite_store)
    assert failed["status"] == "failed" and "AuthError" in failed["error"]


def test_graph_from_another_address_is_refused_as_send_as(sqlite_store: Store, graph: GraphEnv) -> None:
    config = graph_config(graph, sign_in(graph), **{"from": "kith <kith@example.org>"})
    with pytest.raises(AuthError, match="ErrorSendAsDenied"):
        send_built(sqlite_store, config, built(), day=DAY, now=NOW)
    assert graph.fake.mailbox.sent == []


def test_graph_without_a_sign_in_names_kith_auth(sqlite_store: Store, graph: GraphEnv) -> None:
    with pytest.raises(AuthError) as err:
        send_built(sqlite_store, graph_config(graph, graph.mailbox()), built(), day=DAY, now=NOW)
    assert err.value.hint is not None and "kith auth work" in err.value.hint
    assert graph.fake.calls["sendMail"] == 0
