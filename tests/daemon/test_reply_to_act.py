"""Issue 27, done when: the nightly report goes to a real SMTP server, its *Snooze 1 week* and
*Done* links are taken from the delivered message and sent back into the user's Dovecot mailbox,
`kith sync` applies them once; forged, replayed, expired and foreign commands change nothing
but leave a line in `kith status`; and no command message becomes a message, contact or flag.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from imapclient import IMAPClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from kith.analysis.commands import KEY_FILE, Action, sign, subject
from kith.cli import app
from kith.config.secrets import state_key, write_private
from kith.store.commands import flag_identities
from kith.store.engine import open_store, sqlite_url
from kith.store.models import MessageRow, ReportRow
from tests.fixtures.dovecot import PASSWORD, Dovecot
from tests.fixtures.smtp import SmtpServer

pytestmark = pytest.mark.integration


def kith(config: Path, *args: str) -> Any:
    result = CliRunner().invoke(app, ["--config", str(config), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def kith_json(config: Path, *args: str) -> Any:
    return json.loads(kith(config, *args, "--json").output)


class World:
    """One user's Dovecot mailbox, kith configured for it, and the report's SMTP sink."""

    def __init__(self, dovecot: Dovecot, smtp: SmtpServer, tmp_path: Path) -> None:
        self.dovecot, self.smtp, self.tmp = dovecot, smtp, tmp_path
        self.user = dovecot.new_user("act")
        self.me = f"{self.user}@example.com"
        self.state = tmp_path / "state"
        write_private(tmp_path / "imap.pw", PASSWORD)
        (tmp_path / "mailboxes.d").mkdir()
        (tmp_path / "mailboxes.d" / "work.toml").write_text(
            f'kind = "imap"\nhost = "{dovecot.host}"\nport = {dovecot.port}\ntls = "none"\n'
            f'username = "{self.user}"\npassword_file = "{tmp_path / "imap.pw"}"\naddresses = ["{self.me}"]\n'
        )
        self.config = tmp_path / "kith.toml"
        self.config.write_text(
            f'state_dir = "{self.state}"\n'
            f'[report]\nto = "{self.me}"\nfrom = "kith@example.com"\ndeliver = "smtp"\n'
            f'[report.smtp]\nhost = "{smtp.host}"\nport = {smtp.port}\ntls = "none"\n'
            '[web]\npublic_url = "https://kith.example.com"\n'
        )

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        with IMAPClient(self.dovecot.host, port=self.dovecot.port, ssl=False, timeout=10) as c:
            c.login(self.user, PASSWORD)
            c.append(folder, raw)

    def mail(self, sender: str, subject_line: str, *, to: str | None = None, days_ago: float = 0) -> bytes:
        when = datetime.now(UTC) - timedelta(days=days_ago)
        return (
            f"Message-ID: {make_msgid(domain='example.com')}\r\nDate: {format_datetime(when)}\r\n"
            f"From: {sender}\r\nTo: {to or self.me}\r\nSubject: {subject_line}\r\n\r\nhello\r\n"
        ).encode()

    def flag_of(self, address: str) -> dict[str, Any]:
        found = [f for f in kith_json(self.config, "flags", "--state", "all") if f["contact"]["address"] == address]
        assert len(found) == 1, found
        return found[0]

    def identity(self, flag_id: int) -> str:
        """The flag's stable key: a token is signed over it too."""
        store = open_store(sqlite_url(self.state / "kith.db"))
        try:
            with store.engine.connect() as conn:
                return flag_identities(conn, [flag_id])[flag_id]
        finally:
            store.dispose()

    def history(self, flag_id: int) -> dict[str, Any]:
        return kith_json(self.config, "flags", "history", str(flag_id))  # type: ignore[no-any-return]


@pytest.fixture
def world(dovecot: Dovecot, smtp_sink: SmtpServer, tmp_path: Path) -> World:
    return World(dovecot, smtp_sink, tmp_path)


def links_of(raw: bytes) -> tuple[list[str], list[str]]:
    """The links of the delivered report: (HTML hrefs, URLs of the text part)."""
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    hrefs = [unescape(h) for h in re.findall(r'href="([^"]+)"', html)]
    urls = re.findall(r"(?:mailto:|https://|mid:)\S+", text)
    # light: nothing is fetched when it is opened (no remote image, style or tracking pixel)
    assert not re.search(r"""(src|background)\s*=\s*["']?\s*(https?:)?//|url\(\s*["']?(https?:)?//""", html, re.I)
    return hrefs, urls


def command_of(mailto: str) -> tuple[str, str]:
    """(to, subject) of a mailto: link, as a phone's mail app fills them in (RFC 6068)."""
    parts = urlsplit(mailto)
    assert parts.scheme == "mailto"
    return unquote(parts.path), parse_qs(parts.query)["subject"][0]


def link_for(hrefs: list[str], flag_id: int, word: str) -> str:
    wanted = f"kith: {word} #{flag_id} "
    found = [h for h in hrefs if h.startswith("mailto:") and command_of(h)[1].startswith(wanted)]
    assert len(found) == 1, (wanted, hrefs)
    return found[0]


def test_report_links_act_by_email_once(world: World) -> None:
    alice, bob, carol = "alice@partner.example", "bob@partner.example", "carol@partner.example"
    for who in (alice, bob, carol):
        world.append(world.mail(f"{who.split('@')[0].title()} <{who}>", f"Question from {who}", days_ago=5))
    kith(world.config, "sync")
    snoozed, done, left = world.flag_of(alice), world.flag_of(bob), world.flag_of(carol)
    assert snoozed["open_url"].startswith("mid:") and snoozed["open_url"].endswith("@example.com")

    kith(world.config, "report", "--send")
    (delivered,) = world.smtp.sink.received
    hrefs, urls = links_of(delivered.content)
    snooze_link = link_for(hrefs, snoozed["id"], "snooze 7d")
    done_link = link_for(hrefs, done["id"], "done")
    assert snooze_link in urls and done_link in urls, "the text part carries the same links"
    web = [h for h in hrefs if h.startswith("https://kith.example.com/act/")]
    assert web and all(w in urls for w in web)

    # Snooze 1 week, as a phone sends it: in Sent and delivered to INBOX (the same message)
    to, subj = command_of(snooze_link)
    assert to == world.me
    command = world.mail(world.me, subj)
    world.append(command, "Sent")
    world.append(command)
    to, subj = command_of(done_link)
    world.append(world.mail(world.me, subj))
    kith(world.config, "sync")

    after = world.flag_of(alice)
    assert after["state"] == "snoozed"
    until = datetime.fromisoformat(after["snoozed_until"])
    assert timedelta(days=6) < until - datetime.now(UTC) <= timedelta(days=7)
    assert world.flag_of(bob)["state"] == "dismissed"
    assert world.flag_of(carol)["state"] == "open"
    reasons = [h["reason"] for h in world.history(done["id"])["history"]]
    assert re.fullmatch(r"dismissed by email at \d{4}-\d\d-\d\d \d\d:\d\d UTC", reasons[-1])
    assert len(world.history(snoozed["id"])["history"]) == 2, "applied once though seen twice"

    # the next report no longer lists them
    kith(world.config, "report", "--send")
    nxt = world.smtp.sink.received[-1].message().get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert alice not in nxt and bob not in nxt and carol in nxt

    # forged, replayed, expired, foreign: nothing happens but a line in `kith status`
    key = state_key(world.state, KEY_FILE)
    identity = world.identity(left["id"])
    past = sign(key, left["id"], Action.DONE, datetime.now(UTC) - timedelta(minutes=1), identity)
    valid = sign(key, left["id"], Action.DONE, datetime.now(UTC) + timedelta(days=1), identity)
    tampered = subject(left["id"], Action.DONE, command_of(done_link)[1].rsplit(" ", 1)[1])
    world.append(world.mail(world.me, tampered))  # bob's token on carol's flag
    world.append(world.mail(world.me, command_of(done_link)[1]))  # a replay of bob's Done
    world.append(world.mail(world.me, subject(left["id"], Action.DONE, past)))
    world.append(world.mail("Mallory <mallory@evil.example>", subject(left["id"], Action.DONE, valid)))
    world.append(world.mail(world.me, "kith: done #1 not-a-token"))  # not a command at all: a message
    kith(world.config, "sync")
    assert world.flag_of(carol)["state"] == "open"
    assert world.flag_of(bob)["state"] == "dismissed"
    status = kith_json(world.config, "status")["commands"]
    assert sorted(r["outcome"] for r in status["latest"]) == ["expired", "foreign", "forged", "replayed"]
    assert "4 refused" in kith(world.config, "status").output

    # no command message is a message, a contact or a flag
    store = open_store(sqlite_url(world.state / "kith.db"))
    try:
        with store.engine.connect() as conn:
            subjects = [s for (s,) in conn.execute(select(MessageRow.subject))]
            n = conn.execute(select(func.count()).select_from(MessageRow.__table__)).scalar()
    finally:
        store.dispose()
    assert n == 4 and sum(1 for s in subjects if s and s.startswith("kith: ")) == 1
    contacts = {c["address"] for c in kith_json(world.config, "contacts")}
    assert "mallory@evil.example" not in contacts


def test_the_stored_report_keeps_no_signed_link(world: World) -> None:
    world.append(world.mail("Ann <ann@partner.example>", "A question", days_ago=5))
    kith(world.config, "sync")
    kith(world.config, "report", "--send")
    assert "kith%3A%20done" in world.smtp.sink.received[0].content.decode()
    store = open_store(sqlite_url(world.state / "kith.db"))
    try:
        with store.engine.connect() as conn:
            payloads = [json.dumps(p) for (p,) in conn.execute(select(ReportRow.payload))]
    finally:
        store.dispose()
    assert payloads and not any("kith%3A" in p or "/act/" in p for p in payloads)
