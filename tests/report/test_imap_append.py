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
from kith.report import ledger
from kith.report.api import send_built
from kith.report.data import Built
from kith.store.engine import Store
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


def test_report_is_appended_to_the_inbox_exactly_once(imap_server: Any, sqlite_store: Store, tmp_path: Path) -> None:
    host, port = _host_port(imap_server)
    user = f"report-{uuid.uuid4().hex[:8]}"
    write_private(tmp_path / "imap.pw", PASSWORD)
    mailbox = ImapMailbox(
        kind="imap", name="home", host=host, port=port, tls="none", username=user, password_file=tmp_path / "imap.pw"
    )
    config = Config(
        settings=GlobalConfig(
            me=MeConfig(addresses=(f"{user}@example.org",)),
            report=ReportConfig(to=f"{user}@example.org", deliver="imap", mailbox="home", timezone="Europe/Berlin"),
        ),
        mailboxes=(mailbox,),
    )
    built = Built(report_data(day=DAY), stages={})
    first = send_built(sqlite_store, config, built, day=DAY, now=NOW)
    assert send_built(sqlite_store, config, built, day=DAY, now=NOW + timedelta(minutes=1)) is None
    # a crash after APPEND but before the row was marked: the retry finds the first copy by Message-ID
    with sqlite_store.session() as s:
        s.execute(ledger.REPORTS.update().values(status="sending", next_attempt_at=NOW))
    again = send_built(sqlite_store, config, built, day=DAY, now=NOW + ledger.LEASE + timedelta(minutes=1))
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
