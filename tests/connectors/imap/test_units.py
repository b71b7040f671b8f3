"""IMAP pieces that need no server: UID sets, cursors, alerts, Gmail records and folders."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from imapclient.response_parser import parse_fetch_response

from kith.config.mailboxes import ImapMailbox
from kith.connectors.base import Role
from kith.connectors.imap.connect import Alerts
from kith.connectors.imap.cursor import Cursor
from kith.connectors.imap.fetch import SECTION_KEY, build_records, parse_uid_set, uid_set
from kith.connectors.imap.folders import parse_list, select_streams
from kith.connectors.imap.wire import fast_parse, internaldate
from kith.errors import CursorExpired


def test_uid_sets_round_trip() -> None:
    assert uid_set([7, 1, 2, 3, 9, 10]) == "1:3,7,9:10"
    assert uid_set([5]) == "5"
    assert parse_uid_set("1:3,7,10:9") == [1, 2, 3, 7, 9, 10]
    with pytest.raises(ValueError):
        uid_set([])


def test_cursor_round_trip_and_foreign_cursor() -> None:
    cur = Cursor(uidvalidity=5, last_uid=10, uidnext=11, exists=9, modseq=44)
    assert Cursor.from_json(cur.to_json()) == cur
    with pytest.raises(CursorExpired):
        Cursor.from_json({"history_id": "3"})


def test_alerts_are_collected_once() -> None:
    alerts = Alerts()
    imap = SimpleNamespace(untagged_responses={"ALERT": [b"Mailbox almost full"], "OK": [b"x"]})
    alerts.collect(SimpleNamespace(_imap=imap))  # type: ignore[arg-type]
    alerts.scan_text("NO [THROTTLED] Too many commands")
    alerts.scan_text(b"NO [ALERT] Mailbox almost full")
    assert alerts.items == ["[ALERT] Mailbox almost full", "[THROTTLED] Too many commands"]
    assert "ALERT" not in imap.untagged_responses


def gmail_item(msgid: int, thrid: int, labels: tuple[bytes, ...]) -> dict[bytes, Any]:
    head = b"Message-ID: <g1@x>\r\nFrom: a@example.com\r\nDate: Sun, 1 Mar 2026 09:00:00 +0000\r\n\r\n"
    return {
        b"FLAGS": (b"\\Seen", b"\\Recent"),
        b"INTERNALDATE": datetime(2026, 3, 1, 9, 1, tzinfo=UTC),
        b"RFC822.SIZE": 1234,
        SECTION_KEY: head,
        b"X-GM-MSGID": msgid,
        b"X-GM-THRID": thrid,
        b"X-GM-LABELS": labels,
    }


def test_gmail_records_use_message_and_thread_ids() -> None:
    records, problems, versions = build_records({42: gmail_item(1700, 1600, (b"\\Inbox", b"Work"))}, 9, gmail=True)
    (rec,) = records
    assert not problems
    assert rec.provider_key == "1700" and versions == {"1700": "9:42"}
    assert rec.thread_id == "1600" and rec.labels == frozenset({"\\Inbox", "Work"})
    assert rec.flags == frozenset({"\\Seen"}) and rec.size == 1234
    assert rec.received == datetime(2026, 3, 1, 9, 1, tzinfo=UTC)
    plain, _, _ = build_records({42: gmail_item(1700, 1600, ())}, 9)
    assert plain[0].provider_key == "9:42" and plain[0].message_id == "<g1@x>"


def test_gmail_syncs_all_mail_only() -> None:
    folders = parse_list(
        [
            ((b"\\HasNoChildren",), b"/", "INBOX"),
            ((b"\\Noselect", b"\\HasChildren"), b"/", "[Gmail]"),
            ((b"\\All", b"\\HasNoChildren"), b"/", "[Gmail]/All Mail"),
            ((b"\\Sent", b"\\HasNoChildren"), b"/", "[Gmail]/Sent Mail"),
            ((b"\\HasNoChildren",), b"/", "Work"),
        ]
    )
    mb = ImapMailbox(kind="imap", host="imap.gmail.com", username="me@gmail.com", password_command="echo x")
    streams = select_streams(folders, mb, gmail=True)
    assert [(s.name, s.role) for s in streams] == [("[Gmail]/All Mail", Role.ALL)]
    assert [s.name for s in select_streams(folders, mb, gmail=False)] == [
        "INBOX",
        "Work",
        "[Gmail]/All Mail",
        "[Gmail]/Sent Mail",
    ]


def test_fast_parser_agrees_with_imapclient() -> None:
    head = b"Message-ID: <a@b>\r\nSubject: x\r\n\r\n"
    data: list[Any] = [
        (
            b'1 (UID 11 FLAGS (\\Seen \\Recent) INTERNALDATE " 6-Nov-2026 06:23:55 +0100" RFC822.SIZE 421 '
            b"BODY[HEADER.FIELDS (MESSAGE-ID SUBJECT)] {%d}" % len(head),
            head,
        ),
        b")",
        (b"2 (FLAGS () BODY[HEADER.FIELDS (MESSAGE-ID SUBJECT)] {%d}" % len(head), head),
        b" UID 12 RFC822.SIZE 9)",
        b"3 (UID 13 FLAGS ($Forwarded) MODSEQ (5))",
    ]
    fast = fast_parse(data)
    slow = parse_fetch_response(data, False, True)
    assert fast is not None and sorted(fast) == sorted(slow) == [11, 12, 13]
    for uid in fast:
        for key, value in fast[uid].items():
            if key == b"INTERNALDATE":
                assert value == slow[uid][key]
            elif key not in (b"MODSEQ", b"UID"):
                assert value == slow[uid][key], key
    assert fast[11][b"INTERNALDATE"] == datetime(2026, 11, 6, 5, 23, 55, tzinfo=UTC)
    assert fast_parse([b'1 (UID 1 X-GM-LABELS ("a b" \\Inbox))']) is None  # left to imapclient
    assert internaldate(b"31-Feb-2026 00:00:00 +0000") is None


def test_xoauth2_uses_the_token_provider() -> None:
    from kith.connectors.imap.connect import _login

    calls: list[tuple[str, str]] = []
    client = SimpleNamespace(oauth2_login=lambda user, token: calls.append((user, token)))
    mb = ImapMailbox(kind="imap", host="outlook.office365.com", username="me@x.org", auth="xoauth2")
    _login(client, mb, lambda: "tok-123")  # type: ignore[arg-type]
    assert calls == [("me@x.org", "tok-123")]


def test_fetch_answers_that_tell_of_other_changes_are_noticed() -> None:
    """VANISHED nobody asked for, or a FETCH of a UID outside the set, is news a NOOP will not
    repeat: a pass that heard it must not leave a view that NOOP would vouch for."""
    from collections import Counter

    from kith.connectors.imap.fetch import told_more
    from kith.connectors.imap.sync import Session

    assert not told_more("1:3,7", (), {1: {}, 3: {}, 7: {}}, [])
    assert told_more("1:3", (), {1: {}, 9: {}}, [])  # another client's flags on UID 9
    assert told_more("4:6", (), {4: {}}, [2])  # an expunge told during a header fetch
    assert not told_more("1:9", ("CHANGEDSINCE 5", "VANISHED"), {2: {}}, [3])

    client = SimpleNamespace(_imap=SimpleNamespace(state="SELECTED"))
    session = Session(client, condstore=True, stats=Counter())  # type: ignore[arg-type]
    session.watch("INBOX", {"last_uid": 3})
    assert session.view == ("INBOX", {"last_uid": 3})
    session.view = None
    session.stats["unsolicited"] += 1  # heard during the pass
    session.watch("INBOX", {"last_uid": 3})
    assert session.view is None
