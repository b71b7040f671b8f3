"""Gmail messages and Calendar events (API JSON) to kith records. Pure functions, no I/O.

Gmail ``format=metadata`` gives the raw header fields (encoded words and all) in
``payload.headers``; they go through the same parser as every other connector
(``kith.connectors.headers.record_from_message``), so a Gmail record and an IMAP record of the
same message are equal field for field. Gmail-specific parts:

- ``threadId`` is the thread; ``labelIds`` (INBOX, SENT, IMPORTANT, CATEGORY_PROMOTIONS, user
  labels…) become ``labels``; the analysis reads the CATEGORY_* ones as "automated".
- flags are derived from labels: no UNREAD → ``\\Seen``, STARRED → ``\\Flagged``, DRAFT →
  ``\\Draft``. Gmail has no ``\\Answered``: whether I answered is decided from my sent mail.
- ``internalDate`` (ms since the epoch) is the arrival time, ``sizeEstimate`` the size.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time
from typing import Any

from kith.connectors.base import Address, Attendee, EventRecord, MessageRecord
from kith.connectors.headers import HEADER_FIELDS, record_from_message
from kith.errors import BadRecord

#: How real mail spells each field (RFC 5322 §3.6, RFC 2919 List-Id, RFC 2369, RFC 3834), and the
#: variants common mailers write (Postfix and Exim stamp ``Message-Id``). Gmail's documentation
#: names the headers to return "exactly"; a name spelled otherwise (``Message-Id`` for a
#: ``Message-ID``) may come back empty, so each field is asked for in every spelling seen.
SPELLINGS: dict[str, tuple[str, ...]] = {
    "MESSAGE-ID": ("Message-ID", "Message-Id"),
    "REPLY-TO": ("Reply-To",),
    "CC": ("Cc", "CC"),
    "BCC": ("Bcc", "BCC"),
    "IN-REPLY-TO": ("In-Reply-To",),
    "LIST-ID": ("List-Id", "List-ID"),
    "LIST-UNSUBSCRIBE": ("List-Unsubscribe",),
    "LIST-POST": ("List-Post",),
    "AUTO-SUBMITTED": ("Auto-Submitted",),
    "RETURN-PATH": ("Return-Path",),
}
#: ``metadataHeaders`` for messages.get: every field a record needs (X-GM-THRID is IMAP-only).
METADATA_HEADERS: tuple[str, ...] = tuple(
    spelling for name in HEADER_FIELDS if name != "X-GM-THRID" for spelling in SPELLINGS.get(name, (name.capitalize(),))
)
#: Labels whose messages are not interactions: never part of the synced stream.
EXCLUDED_LABELS = frozenset({"SPAM", "TRASH", "DRAFT"})

_PARTSTAT = {"needsAction": "NEEDS-ACTION", "accepted": "ACCEPTED", "declined": "DECLINED", "tentative": "TENTATIVE"}


def flags_from_labels(labels: Iterable[str]) -> frozenset[str]:
    labels = set(labels)
    flags = set()
    if "UNREAD" not in labels:
        flags.add("\\Seen")
    if "STARRED" in labels:
        flags.add("\\Flagged")
    if "DRAFT" in labels:
        flags.add("\\Draft")
    return frozenset(flags)


def message_record(data: Mapping[str, Any]) -> MessageRecord:
    """A ``users.messages.get`` (format metadata) response → record. Raises ``BadRecord`` without an id."""
    mid = data.get("id")
    if not isinstance(mid, str) or not mid:
        raise BadRecord("Gmail message without an id")
    headers: dict[str, list[str]] = {}
    payload = data.get("payload") or {}
    for item in payload.get("headers") or ():
        if isinstance(item, Mapping) and isinstance(item.get("name"), str):
            headers.setdefault(item["name"], []).append(str(item.get("value", "")))
    labels = frozenset(str(x) for x in data.get("labelIds") or ())
    problems: list[str] = []
    received = None
    try:
        received = datetime.fromtimestamp(int(data["internalDate"]) / 1000, UTC)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        problems.append("internalDate: missing or unreadable")
    size = data.get("sizeEstimate")
    return record_from_message(
        headers,
        mid,
        flags=flags_from_labels(labels),
        labels=labels,
        size=size if isinstance(size, int) else None,
        received=received,
        thread_id=str(data["threadId"]) if data.get("threadId") else None,
        extra_problems=problems,
    )


def excluded(labels: Iterable[str]) -> bool:
    return not EXCLUDED_LABELS.isdisjoint(labels)


# --- calendar --------------------------------------------------------------------------------


def _when(value: Mapping[str, Any] | None) -> tuple[datetime, bool] | None:
    """An EventDateTime (``dateTime`` RFC 3339, or ``date`` for all-day) → aware UTC, all-day."""
    if not value:
        return None
    if value.get("dateTime"):
        parsed = datetime.fromisoformat(str(value["dateTime"]).replace("Z", "+00:00"))
        if parsed.tzinfo is None:  # pragma: no cover - Google always sends an offset
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC), False
    if value.get("date"):
        return datetime.combine(date.fromisoformat(str(value["date"])), time(0), tzinfo=UTC), True
    return None


def event_record(data: Mapping[str, Any], me: Iterable[str] = ()) -> EventRecord | None:
    """An ``events.list`` item (``singleEvents=true``) → record; None for a bare deletion tombstone.

    Google sends a deleted event as ``{"id", "status": "cancelled"}`` only; a cancelled occurrence
    or meeting that still has its times becomes a record with ``cancelled=True``.
    """
    eid = data.get("id")
    if not isinstance(eid, str) or not eid:
        raise BadRecord("calendar event without an id")
    status = str(data.get("status") or "confirmed").upper()
    try:
        start = _when(data.get("start"))
        end = _when(data.get("end"))
        original = _when(data.get("originalStartTime")) if data.get("recurringEventId") else None
    except ValueError as exc:
        raise BadRecord(f"calendar event {eid}: unreadable time: {exc}", provider_key=eid) from exc
    if start is None:
        if status == "CANCELLED":
            return None
        raise BadRecord(f"calendar event {eid} has no start", provider_key=eid)
    mine = {a.lower() for a in me}
    org = data.get("organizer") or {}
    organizer = Address(str(org["email"]).lower(), str(org.get("displayName", ""))) if org.get("email") else None
    attendees: list[Attendee] = []
    my_response = None
    for att in data.get("attendees") or ():
        email = str(att.get("email") or "").lower()
        if not email:
            continue
        role = (
            "NON-PARTICIPANT"
            if att.get("resource")
            else "OPT-PARTICIPANT"
            if att.get("optional")
            else "REQ-PARTICIPANT"
        )
        partstat = _PARTSTAT.get(str(att.get("responseStatus")), "NEEDS-ACTION")
        attendees.append(Attendee(email, str(att.get("displayName", "")), role, partstat))
        if att.get("self") or email in mine:
            my_response = partstat
    if my_response is None and (org.get("self") or (organizer is not None and organizer.address in mine)):
        my_response = "ACCEPTED"  # the organizer attends their own meeting
    return EventRecord(
        provider_key=eid,
        uid=str(data.get("iCalUID") or eid),
        start=start[0],
        end=end[0] if end else None,
        recurrence_id=original[0] if original else None,
        all_day=start[1],
        summary=str(data["summary"]) if data.get("summary") is not None else None,
        organizer=organizer,
        attendees=tuple(attendees),
        status=status,
        my_response=my_response,
        cancelled=status == "CANCELLED",
    )


__all__ = ["EXCLUDED_LABELS", "METADATA_HEADERS", "event_record", "excluded", "flags_from_labels", "message_record"]
