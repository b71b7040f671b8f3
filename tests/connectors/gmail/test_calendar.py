"""The Google Calendar source against the fake Calendar API: sync tokens, 410, cancellations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from kith.connectors.base import EventRecord
from tests.connectors.contract import Replica
from tests.fixtures.gmail import GmailEnv

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def event(n: int, *, days: int = 0, **extra: Any) -> dict[str, Any]:
    start = NOW + timedelta(days=days, hours=n)
    return {
        "id": f"ev{n}",
        "iCalUID": f"ev{n}@google.com",
        "summary": f"meeting {n}",
        "start": {"dateTime": start.isoformat().replace("+00:00", "Z")},
        "end": {"dateTime": (start + timedelta(hours=1)).isoformat().replace("+00:00", "Z")},
        "organizer": {"email": "boss@example.org", "displayName": "Boss"},
        "attendees": [
            {"email": "boss@example.org", "organizer": True, "responseStatus": "accepted"},
            {"email": "me@example.com", "self": True, "responseStatus": "tentative"},
            {"email": "room@resource.calendar.google.com", "resource": True, "responseStatus": "accepted"},
        ],
        **extra,
    }


def synced(env: GmailEnv) -> tuple[Any, Any, Replica]:
    source = env.calendar_source(now=NOW)
    stream = source.streams()[0]
    return source, stream, Replica().sync(source, stream)


def test_full_then_incremental_with_sync_token(gmail_env: GmailEnv) -> None:
    cal = gmail_env.fake.calendar
    for n in range(3):
        cal.put_event("primary", event(n))
    cal.put_event("primary", event(9, days=-800))  # before the window: not listed
    source, stream, rep = synced(gmail_env)
    assert stream.name == "google:primary"
    assert set(rep.items) == {"ev0", "ev1", "ev2"}
    rec = rep.items["ev1"]
    assert isinstance(rec, EventRecord)
    assert rec.uid == "ev1@google.com" and rec.my_response == "TENTATIVE" and rec.organizer is not None
    assert {a.address: a.role for a in rec.attendees}["room@resource.calendar.google.com"] == "NON-PARTICIPANT"
    assert rep.cursor is not None and "sync_token" in rep.cursor
    # nothing changed: one call, no batch
    gmail_env.fake.reset_counts()
    rep.sync(source, stream)
    assert rep.upserted == 0 and gmail_env.fake.calls["events.list"] == 1
    # a moved meeting comes back alone
    cal.put_event("primary", event(1, days=1))
    rep.sync(source, stream)
    assert rep.upserted == 1 and rep.items["ev1"].start == NOW + timedelta(days=1, hours=1)


def test_cancelled_occurrence_and_deleted_event(gmail_env: GmailEnv) -> None:
    cal = gmail_env.fake.calendar
    series = {"recurringEventId": "weekly", "originalStartTime": {"dateTime": "2026-03-11T09:00:00Z"}}
    cal.put_event("primary", event(1, **series))
    cal.put_event("primary", event(2))
    source, stream, rep = synced(gmail_env)
    assert rep.items["ev1"].recurrence_id == datetime(2026, 3, 11, 9, 0, tzinfo=UTC)
    cal.cancel_event("primary", "ev1")  # an occurrence cancelled: still there, marked
    cal.delete_event("primary", "ev2")  # deleted: only its id comes back
    rep.sync(source, stream)
    rec = rep.items["ev1"]
    assert isinstance(rec, EventRecord) and rec.cancelled and rec.status == "CANCELLED"
    assert "ev2" not in rep.items


def test_expired_sync_token_resyncs_without_duplicates(gmail_env: GmailEnv) -> None:
    cal = gmail_env.fake.calendar
    for n in range(4):
        cal.put_event("primary", event(n))
    source, stream, rep = synced(gmail_env)
    cal.delete_event("primary", "ev0")
    cal.put_event("primary", event(5))
    cal.expire_sync_tokens()
    gmail_env.fake.reset_counts()
    rep.sync(source, stream)  # 410 → CursorExpired → full sync
    assert set(rep.items) == {"ev1", "ev2", "ev3", "ev5"}
    assert rep.upserted == 1, "unchanged events (same etag) must not be upserted again"
    assert gmail_env.fake.calls["events.list"] == 2
    rep.sync(source, stream)
    assert rep.upserted == 0


def test_paged_full_sync_and_far_future_occurrences(gmail_env: GmailEnv) -> None:
    cal = gmail_env.fake.calendar
    for n in range(7):
        cal.put_event("primary", event(n))
    cal.put_event("primary", event(8, days=400))  # beyond window_future (90 days)
    source = gmail_env.calendar_source(batch_size=3, now=NOW)
    stream = source.streams()[0]
    batches = list(source.pull(stream, None))
    assert len(batches) == 3 and [b.cursor is None for b in batches] == [True, True, False]
    keys = [r.provider_key for b in batches for r in b.upserts]
    assert sorted(keys) == [f"ev{n}" for n in range(7)]
