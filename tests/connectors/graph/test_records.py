"""Graph JSON to records: addresses, flags, labels, raw headers, events. Pure, no server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kith.connectors.graph.records import event_record, message_record, parse_time, with_headers
from kith.errors import BadRecord


def addr(a: str, name: str = "") -> dict[str, object]:
    return {"emailAddress": {"address": a, "name": name or a}}


MESSAGE = {
    "id": "AAMk-1=",
    "internetMessageId": "<abc@x.example>",
    "conversationId": "AAQk-conv",
    "subject": "Quarterly =?utf-8?q?numbers?=",
    "from": addr("News@Shop.example", "Shop News"),
    "sender": addr("bounce@shop.example"),
    "toRecipients": [addr("me@example.com", "Me"), addr("ME@example.com")],
    "ccRecipients": [addr("not-an-address")],
    "bccRecipients": [],
    "replyTo": [addr("reply@shop.example", "Reply")],
    "sentDateTime": "2026-03-01T09:00:00Z",
    "receivedDateTime": "2026-03-01T09:00:03.1234567Z",
    "isRead": True,
    "isDraft": False,
    "flag": {"flagStatus": "flagged"},
    "inferenceClassification": "Other",
    "categories": ["Blue category"],
}


def test_message_fields_map_to_the_record() -> None:
    rec = message_record(MESSAGE)
    assert rec.provider_key == "AAMk-1=" and rec.message_id == "<abc@x.example>"
    assert rec.thread_id == "AAQk-conv" and rec.subject == "Quarterly numbers"
    assert rec.from_ is not None and rec.from_.address == "news@shop.example" and rec.from_.name == "Shop News"
    assert rec.sender is not None and rec.sender.name == ""  # Graph repeats the address as the name
    assert [a.address for a in rec.to] == ["me@example.com"] and rec.cc == ()
    assert rec.reply_to[0].address == "reply@shop.example"
    assert rec.date == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    assert rec.received == datetime(2026, 3, 1, 9, 0, 3, 123456, tzinfo=UTC)
    assert rec.flags == frozenset({"\\Seen", "\\Flagged"})
    assert rec.labels == frozenset({"Blue category", "focused:other"})
    assert rec.list_id is None and rec.problems == ()


def test_raw_headers_and_last_verb_are_merged() -> None:
    extra = {
        "internetMessageHeaders": [
            {"name": "List-Id", "value": "Shop news <news.shop.example>"},
            {"name": "List-Unsubscribe", "value": "<mailto:u@shop.example>"},
            {"name": "Precedence", "value": "Bulk"},
            {"name": "Auto-Submitted", "value": "auto-generated"},
            {"name": "Return-Path", "value": "<>"},
            {"name": "In-Reply-To", "value": "<parent@x>"},
            {"name": "References", "value": "<root@x> <parent@x>"},
            {"name": "Received", "value": "from somewhere"},
        ],
        "singleValueExtendedProperties": [{"id": "Integer 0x1081", "value": "103"}],
    }
    rec = with_headers(message_record(MESSAGE), extra)
    assert rec.list_id == "Shop news <news.shop.example>" and rec.list_unsubscribe == "<mailto:u@shop.example>"
    assert rec.precedence == "bulk" and rec.auto_submitted == "auto-generated" and rec.return_path == ""
    assert rec.in_reply_to == "<parent@x>" and rec.references == ("<root@x>", "<parent@x>")
    assert "\\Answered" in rec.flags
    forwarded = with_headers(
        message_record(MESSAGE), {"singleValueExtendedProperties": [{"id": "Integer 0x1081", "value": "104"}]}
    )
    assert "\\Answered" not in forwarded.flags


def test_bad_items() -> None:
    with pytest.raises(BadRecord):
        message_record({"subject": "no id"})
    rec = message_record({"id": "x", "sentDateTime": "yesterday"})
    assert rec.date is None and "sentDateTime: unreadable" in rec.problems
    assert parse_time("2026-03-01T10:00:00.1234567") == datetime(2026, 3, 1, 10, 0, 0, 123456, tzinfo=UTC)


def test_event_with_attendees_and_my_response() -> None:
    ev = event_record(
        {
            "id": "ev-1",
            "iCalUId": "uid-1",
            "subject": "Sync",
            "type": "occurrence",
            "originalStart": "2026-03-02T10:00:00Z",
            "start": {"dateTime": "2026-03-02T10:00:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": "2026-03-02T10:30:00.0000000", "timeZone": "UTC"},
            "organizer": addr("boss@example.com", "Boss"),
            "responseStatus": {"response": "tentativelyAccepted"},
            "attendees": [
                {"type": "required", "status": {"response": "tentativelyAccepted"}, **addr("me@example.com")},
                {"type": "optional", "status": {"response": "declined"}, **addr("x@example.com")},
                {"type": "resource", "status": {"response": "accepted"}, **addr("room@example.com")},
            ],
            "isCancelled": True,
        },
        ["me@example.com"],
    )
    assert ev.uid == "uid-1" and ev.start == datetime(2026, 3, 2, 10, tzinfo=UTC)
    assert ev.recurrence_id == datetime(2026, 3, 2, 10, tzinfo=UTC)
    assert ev.my_response == "TENTATIVE" and ev.cancelled and ev.status == "CANCELLED"
    assert [(a.role, a.partstat) for a in ev.attendees] == [
        ("REQ-PARTICIPANT", "TENTATIVE"),
        ("OPT-PARTICIPANT", "DECLINED"),
        ("NON-PARTICIPANT", "ACCEPTED"),
    ]
    all_day = event_record(
        {"id": "d", "isAllDay": True, "start": {"dateTime": "2026-03-05T00:00:00.0000000"}, "isOrganizer": True}
    )
    assert all_day.all_day and all_day.my_response == "ACCEPTED" and all_day.end is None
