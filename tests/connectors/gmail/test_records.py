"""Gmail/Calendar JSON → records, and history folding: pure functions on plain data."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kith.connectors.gmail.history import fold
from kith.connectors.gmail.records import METADATA_HEADERS, event_record, flags_from_labels, message_record
from kith.errors import BadRecord


def test_metadata_headers_cover_the_record_fields() -> None:
    assert {"Message-Id", "From", "To", "Cc", "Bcc", "List-Unsubscribe", "Auto-Submitted", "References"} <= set(
        METADATA_HEADERS
    )
    assert "X-Gm-Thrid" not in METADATA_HEADERS


def test_message_record_from_metadata() -> None:
    rec = message_record(
        {
            "id": "18c1",
            "threadId": "18c0",
            "labelIds": ["INBOX", "CATEGORY_UPDATES", "UNREAD"],
            "internalDate": "1767225600000",
            "sizeEstimate": 4321,
            "payload": {
                "headers": [
                    {"name": "Message-Id", "value": "<a@b>"},
                    {"name": "From", "value": '"Ann, B." <Ann@Example.org>'},
                    {"name": "To", "value": "me@example.com"},
                    {"name": "Cc", "value": "x@example.com"},
                    {"name": "Cc", "value": "y@example.com"},
                    {"name": "Date", "value": "Thu, 01 Jan 2026 00:00:00 +0000"},
                    {"name": "List-Id", "value": "<news.example.org>"},
                ]
            },
        }
    )
    assert rec.provider_key == "18c1" and rec.thread_id == "18c0" and rec.message_id == "<a@b>"
    assert rec.from_ is not None and (rec.from_.address, rec.from_.name) == ("ann@example.org", "Ann, B.")
    assert [a.address for a in rec.cc] == ["x@example.com", "y@example.com"]
    assert rec.labels == frozenset({"INBOX", "CATEGORY_UPDATES", "UNREAD"}) and rec.flags == frozenset()
    assert rec.received == datetime(2026, 1, 1, tzinfo=UTC) and rec.size == 4321
    assert rec.list_id == "<news.example.org>"


def test_message_record_degrades_gracefully() -> None:
    rec = message_record({"id": "1", "payload": {"headers": [{"name": "Date", "value": "garbage"}, "junk"]}})
    assert rec.date is None and any("internalDate" in p for p in rec.problems)
    with pytest.raises(BadRecord):
        message_record({"threadId": "t"})


def test_flags_from_labels() -> None:
    assert flags_from_labels(["UNREAD"]) == frozenset()
    assert flags_from_labels(["STARRED", "DRAFT"]) == frozenset({"\\Seen", "\\Flagged", "\\Draft"})


def test_event_records() -> None:
    all_day = event_record({"id": "e", "start": {"date": "2026-03-01"}, "end": {"date": "2026-03-02"}})
    assert all_day is not None and all_day.all_day and all_day.start == datetime(2026, 3, 1, tzinfo=UTC)
    assert all_day.uid == "e" and all_day.my_response is None
    assert event_record({"id": "gone", "status": "cancelled"}) is None
    with pytest.raises(BadRecord):
        event_record({"id": "nostart", "status": "confirmed"})
    mine = event_record(
        {
            "id": "m",
            "start": {"dateTime": "2026-03-01T10:00:00+01:00"},
            "organizer": {"email": "me@example.com", "self": True},
            "attendees": [{"email": "a@x.org", "optional": True, "responseStatus": "declined"}],
        },
        ["me@example.com"],
    )
    assert mine is not None and mine.start == datetime(2026, 3, 1, 9, tzinfo=UTC) and mine.my_response == "ACCEPTED"
    assert mine.attendees[0].role == "OPT-PARTICIPANT" and mine.attendees[0].partstat == "DECLINED"


def _msg(mid: str, *labels: str) -> dict[str, object]:
    return {"message": {"id": mid, "threadId": mid, "labelIds": list(labels)}}


def test_fold_history() -> None:
    changes = fold(
        [
            {"id": "1", "messagesAdded": [_msg("new", "INBOX")]},
            {"id": "2", "labelsAdded": [{**_msg("new", "INBOX", "STARRED"), "labelIds": ["STARRED"]}]},
            {"id": "3", "labelsAdded": [{**_msg("old", "INBOX", "Label_1"), "labelIds": ["Label_1"]}]},
            {"id": "4", "labelsAdded": [{**_msg("binned", "TRASH"), "labelIds": ["TRASH"]}]},
            {"id": "5", "labelsRemoved": [{**_msg("restored", "INBOX"), "labelIds": ["TRASH"]}]},
            {"id": "6", "messagesAdded": [_msg("draft", "DRAFT")]},
            {"id": "7", "messagesDeleted": [{"message": {"id": "dropped"}}]},
            {"id": "8", "messagesAdded": [_msg("flip", "INBOX")]},
            {"id": "9", "messagesDeleted": [{"message": {"id": "flip"}}]},
        ]
    )
    assert changes.fetch == ["new", "restored"]
    assert sorted(changes.delete) == ["binned", "draft", "dropped", "flip"]
    assert changes.relabel == {"old": frozenset({"INBOX", "Label_1"})}
    assert not fold([])
