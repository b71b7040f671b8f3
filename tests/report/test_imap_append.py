"""IMAP APPEND into the owner's INBOX through a configured mailbox, against the Dovecot fixture."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from imapclient import IMAPClient

from kith.config.load import Config
from kith.config.mailboxes import ImapMailbox
from kith.config.models import GlobalConfig, MeConfig, ReportConfig
from kith.config.secrets import write_private
from kith.report.api import send_built
from kith.report.data import Built
from kith.store import reports
from kith.store.engine import Store
from kith.store.tables import REPORT
from tests.fixtures.dovecot import Dovecot, Introspection
from tests.report.builders import report_data

pytestmark = pytest.mark.integration

DAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
PASSWORD = "secret"  # the Dovecot fixture's static passdb accepts any user with this password


@pytest.fixture
def imap_server(dovecot: Any) -> Any:
    """The real Dovecot of tests/fixtures/dovecot.py: if it is renamed, this fails, never skips."""
    return dovecot


def _host_port(server: Any) -> tuple[str, int]:
    host = getattr(server, "host", "127.0.0.1")
    port = getattr(server, "port", None) or getattr(server, "imap_port", None)
    assert port, f"cannot find the IMAP port on {server!r}"
    return host, int(port)


def delivering_through(mailbox: ImapMailbox) -> Config:
    """A config whose report goes to ``USER@example.org`` by APPEND through ``mailbox``."""
    address = f"{mailbox.username}@example.org"
    return Config(
        settings=GlobalConfig(
            me=MeConfig(addresses=(address,)),
            report=ReportConfig(to=address, deliver="imap", mailbox=mailbox.name, timezone="Europe/Berlin"),
        ),
        mailboxes=(mailbox,),
    )


def xoauth2_mailbox(host: str, port: int, user: str, token_file: Path) -> ImapMailbox:
    """A plain-text loopback mailbox that logs in with SASL XOAUTH2, the token read from ``token_file``."""
    return ImapMailbox(
        kind="imap",
        name="work",
        host=host,
        port=port,
        tls="none",
        username=user,
        auth="xoauth2",
        password_file=token_file,
    )


def test_report_is_appended_to_the_inbox_exactly_once(imap_server: Any, sqlite_store: Store, tmp_path: Path) -> None:
    host, port = _host_port(imap_server)
    user = f"report-{uuid.uuid4().hex[:8]}"
    write_private(tmp_path / "imap.pw", PASSWORD)
    mailbox = ImapMailbox(
        kind="imap", name="home", host=host, port=port, tls="none", username=user, password_file=tmp_path / "imap.pw"
    )
    config = delivering_through(mailbox)
    built = Built(report_data(day=DAY), stages={})
    first = send_built(sqlite_store, config, built, day=DAY, now=NOW)
    assert send_built(sqlite_store, config, built, day=DAY, now=NOW + timedelta(minutes=1)) is None
    # a crash after APPEND but before the row was marked: the retry finds the first copy by Message-ID
    with sqlite_store.session() as s:
        s.execute(REPORT.update().values(status="sending", next_attempt_at=NOW))
    again = send_built(sqlite_store, config, built, day=DAY, now=NOW + reports.LEASE + timedelta(minutes=1))
    assert again == first
    with IMAPClient(host, port=port, ssl=False) as client:
        client.login(user, PASSWORD)
        client.select_folder("INBOX")
        uids = client.search(["ALL"])
        assert len(uids) == 1
        raw = client.fetch(uids, ["BODY.PEEK[]", "FLAGS"])[uids[0]]
    msg = BytesParser(policy=policy.default).parsebytes(raw[b"BODY[]"])
    assert msg["Message-ID"] == first
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg.get_body(("html",)) is not None and msg.get_body(("plain",)) is not None
    assert b"\\Seen" not in raw[b"FLAGS"]  # it arrives unread, like mail


def test_report_is_appended_through_the_connector_with_xoauth2_over_tls(
    dovecot_oauth2: tuple[Dovecot, Introspection], sqlite_store: Store, tmp_path: Path
) -> None:
    """The bug of issue 24: delivery had its own IMAP login that knew passwords only, so a mailbox
    with ``auth = "xoauth2"`` could never receive its report. Now the IMAP connector's sender logs
    in as the sync does: SASL XOAUTH2 with the token the password source yields, over TLS."""
    server, introspection = dovecot_oauth2
    user = server.new_user("oauth")
    token = introspection.issue(user)
    write_private(tmp_path / "token", token)
    mailbox = xoauth2_mailbox(server.host, server.tls_port, user, tmp_path / "token")
    mailbox = mailbox.model_copy(update={"tls": "implicit", "ca_file": server.cafile})
    config = delivering_through(mailbox)
    first = send_built(sqlite_store, config, Built(report_data(day=DAY), stages={}), day=DAY, now=NOW)
    assert first is not None
    assert token in introspection.asked, "Dovecot checked the OAuth token with the provider"
    with IMAPClient(server.host, port=server.port, ssl=False) as client:
        client.login(user, PASSWORD)
        client.select_folder("INBOX")
        uids = client.search(["HEADER", "Message-ID", first])
    assert len(uids) == 1
