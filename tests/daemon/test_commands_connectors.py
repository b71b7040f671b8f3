"""Reply-to-act through every mail connector (issue 27; Maildir on both databases): a command that arrives in Sent and in
INBOX (or, on Gmail, once with both labels) is applied once and never stored as a message; and
each provider's deep link is the right one (Gmail search in its account, Graph's webLink, mid:).
IMAP/Dovecot is covered end to end in ``test_reply_to_act``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from kith.analysis import api
from kith.analysis.commands import KEY_FILE, Action, sign, subject
from kith.config.load import Config
from kith.config.models import GlobalConfig
from kith.config.secrets import state_key
from kith.daemon.sync import SyncEngine
from kith.report.actions import Linker
from kith.store.commands import flag_identities
from kith.store.derived import FlagRow
from kith.store.engine import Store
from kith.store.models import MessageRow
from tests.connectors.contract import TestMessage
from tests.connectors.test_maildir import MaildirHarness
from tests.fakes.graph import FakeGraph, LoginClient
from tests.fixtures.gmail import GmailEnv
from tests.fixtures.graph import GraphEnv

NOW = datetime.now(UTC).replace(microsecond=0)


def seed_flag(store: Store, message_id: str | None = None, contact: str = "ann@example.org") -> int:
    with store.engine.begin() as conn:
        row = {"kind": "unanswered", "key": f"unanswered:{message_id or contact}", "contact_address": contact}
        values = {**row, "message_id": message_id, "state": "open", "since": NOW - timedelta(days=3), "opened_at": NOW}
        return int(conn.execute(insert(FlagRow.__table__).values(**values)).inserted_primary_key[0])  # type: ignore[index]


def token_for(store: Store, state_dir: Path, flag_id: int, action: Action, expires: datetime) -> str:
    """A genuine token, as a report signs it: over the flag's number and its stable key."""
    with store.engine.connect() as conn:
        identity = flag_identities(conn, [flag_id])[flag_id]
    return sign(state_key(state_dir, KEY_FILE), flag_id, action, expires, identity)


def command_subject(store: Store, state_dir: Path, flag_id: int, action: Action) -> str:
    return subject(flag_id, action, token_for(store, state_dir, flag_id, action, NOW + timedelta(days=14)))


def outcome(store: Store, flag_id: int) -> tuple[str, int, list[str | None]]:
    """(state, history length, subjects of the stored messages)."""
    with store.engine.connect() as conn:
        flag = api.history(conn, flag_id)
        subjects = [s for (s,) in conn.execute(select(MessageRow.subject))]
    return flag["state"], len(flag["history"]), subjects


def links(store: Store, mailbox: Any, message_id: str) -> dict[str, Any]:
    config = Config(settings=GlobalConfig(state_dir=Path("/nonexistent")), mailboxes=(mailbox,))
    with store.engine.connect() as conn:
        return Linker(conn, config, NOW).open_links([("ann@example.org", message_id)])[("ann@example.org", message_id)]


def test_gmail_command_with_sent_and_inbox_labels(gmail_env: GmailEnv, sqlite_store: Store) -> None:
    box = gmail_env.fake.mailbox
    me = box.email
    box.add_message({"Message-ID": "<q1@example.org>", "From": "Ann <ann@example.org>", "To": me, "Subject": "q"})
    flag_id = seed_flag(sqlite_store, "<q1@example.org>")
    headers = {"Message-ID": "<cmd1@example.com>", "From": me, "To": me}
    box.add_message(
        {**headers, "Subject": command_subject(sqlite_store, gmail_env.state_dir, flag_id, Action.SNOOZE_WEEK)},
        labels=("SENT", "INBOX"),
    )
    mailbox = gmail_env.mailbox(calendar=False)
    engine = SyncEngine(sqlite_store, state_dir=gmail_env.state_dir, attempts=1)
    assert engine.sync_mailbox(mailbox).status == "ok"
    assert engine.sync_mailbox(mailbox, full=True).status == "ok"  # pulled again: still once
    state, events, subjects = outcome(sqlite_store, flag_id)
    assert (state, events, subjects) == ("snoozed", 1, ["q"])
    url = links(sqlite_store, mailbox, "<q1@example.org>")["open_url"]
    assert url == f"https://mail.google.com/mail/u/{me}/#search/rfc822msgid%3Aq1%40example.org"


@pytest.fixture
def graph(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GraphEnv]:
    with FakeGraph(email="me@contoso.example") as fake:
        monkeypatch.setattr("kith.connectors.graph.auth.msal_http_client", lambda: LoginClient(fake.url))
        yield GraphEnv(fake, tmp_path / "state")


def test_graph_command_in_sentitems_and_inbox(graph: GraphEnv, sqlite_store: Store) -> None:
    from kith.connectors.graph.auth import authorize

    mailbox = graph.mailbox(calendar=False)
    authorize(
        mailbox, state_dir=graph.state_dir, say=lambda m: graph.fake.approve(re.search(r"code (\S+)", m).group(1))
    )  # type: ignore[union-attr]
    me = graph.fake.user_email
    item = graph.fake.mailbox.add("inbox", message_id="<q2@example.org>", subject="q", from_=("ann@example.org", "Ann"))
    flag_id = seed_flag(sqlite_store, "<q2@example.org>")
    text = command_subject(sqlite_store, graph.state_dir, flag_id, Action.DONE)
    for folder in ("sentitems", "inbox"):
        graph.fake.mailbox.add(
            folder, message_id="<cmd2@contoso.example>", subject=text, from_=(me, "Me"), to=[(me, "Me")]
        )
    result = SyncEngine(sqlite_store, state_dir=graph.state_dir, attempts=1).sync_mailbox(mailbox)
    assert result.status == "ok", result.error
    state, events, subjects = outcome(sqlite_store, flag_id)
    assert (state, events, subjects) == ("dismissed", 1, ["q"])
    url = links(sqlite_store, mailbox, "<q2@example.org>")["open_url"]
    assert url == graph.fake.mailbox.messages[item].fields["webLink"]
    assert url.startswith("https://outlook.office365.com/owa/?ItemID=")


def test_maildir_command_in_sent_and_inbox(tmp_path: Path, store: Store) -> None:
    h = MaildirHarness(tmp_path / "Mail")
    h.deliver([TestMessage("<q3@example.org>", subject="q", from_="Ann <ann@example.org>", date=NOW)])
    flag_id = seed_flag(store, "<q3@example.org>")
    text = command_subject(store, tmp_path / "state", flag_id, Action.SNOOZE_MONTH)
    command = TestMessage("<cmd3@example.com>", subject=text, from_="me@example.com", date=NOW)
    h.deliver([command])
    h.deliver([command], folder=".Sent")
    engine = SyncEngine(store, state_dir=tmp_path / "state", attempts=1)
    assert engine.sync_mailbox(h.config()).status == "ok"
    assert engine.sync_mailbox(h.config()).status == "ok"
    state, events, subjects = outcome(store, flag_id)
    assert (state, events, subjects) == ("snoozed", 1, ["q"])
    assert links(store, h.config(), "<q3@example.org>")["open_url"] == "mid:q3@example.org"
    assert links(store, h.config(), "<gone@example.org>")["open_url"] == "mid:gone@example.org"


def test_a_refused_command_read_again_is_logged_once(tmp_path: Path, sqlite_store: Store) -> None:
    """A Maildir folder is re-read whenever it changes, and a refused command stays in it: it
    must not add a line to `kith status` each time."""
    from kith.store.commands import refused_commands

    h = MaildirHarness(tmp_path / "Mail")
    flag_id = seed_flag(sqlite_store, "<q4@example.org>")
    forged = subject(flag_id, Action.DONE, "A" * 22)
    h.deliver([TestMessage("<cmd4@example.com>", subject=forged, from_="me@example.com", date=NOW)])
    engine = SyncEngine(sqlite_store, state_dir=tmp_path / "state", attempts=1)
    for n in range(3):
        assert engine.sync_mailbox(h.config()).status == "ok"
        h.deliver([TestMessage(f"<other{n}@example.org>", from_="Ann <ann@example.org>", date=NOW)])
    with sqlite_store.engine.connect() as conn:
        refused = refused_commands(conn, since=NOW - timedelta(days=1))
    assert refused["total"] == 1 and refused["latest"][0]["outcome"] == "forged"
    assert outcome(sqlite_store, flag_id)[0] == "open"
