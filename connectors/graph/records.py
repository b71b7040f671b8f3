"""Microsoft Graph messages and events (JSON) to kith records. Pure functions, no I/O.

Graph does not hand out raw header blocks: a message comes as typed JSON (``from``,
``toRecipients``… as ``{"emailAddress": {"name", "address"}}``), already decoded, so records are
built from those fields directly instead of going through the RFC 5322 parser; the few raw
headers the rules need that delta cannot give (List-Id, List-Unsubscribe, Precedence,
Auto-Submitted, Return-Path, In-Reply-To, References) arrive separately as
``internetMessageHeaders`` and are merged in with ``with_headers``.

Mapping choices:

- ``conversationId`` is the thread; ``categories`` and ``inferenceClassification`` ("focused" /
  "other", Outlook's own "is this automated-ish" verdict) become ``labels`` (``focused:other``).
- flags: ``isRead`` → ``\\Seen``, ``flag.flagStatus == "flagged"`` → ``\\Flagged``, ``isDraft``
  → ``\\Draft``, and ``\\Answered`` from PidTagLastVerbExecuted (0x1081: 102 reply, 103 reply all;
  104 forward is not an answer) when the header fetch brought it.
- ``sentDateTime`` is the Date header (Graph derives it from Date), ``receivedDateTime`` the
  arrival time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, time
from typing import Any

from kith.connectors.base import Address, Attendee, EventRecord, MessageRecord
from kith.connectors.headers import decode_text, normalize_message_id, parse_references
from kith.errors import BadRecord

#: ``$select`` for messages/delta: only what a record needs (no body, no preview).
MESSAGE_FIELDS: tuple[str, ...] = (
    "internetMessageId",
    "conversationId",
    "from",
    "sender",
    "toRecipients",
    "ccRecipients",
    "bccRecipients",
    "replyTo",
    "sentDateTime",
    "receivedDateTime",
    "subject",
    "isRead",
    "isDraft",
    "flag",
    "inferenceClassification",
    "categories",
    "webLink",
)
#: Raw headers worth a second request: the automated-sender and threading signals.
WANTED_HEADERS = frozenset(
    {
        "list-id",
        "list-unsubscribe",
        "list-post",
        "precedence",
        "auto-submitted",
        "return-path",
        "in-reply-to",
        "references",
    }
)
#: PidTagLastVerbExecuted, the MAPI property Outlook sets when a message is replied to.
LAST_VERB = "Integer 0x1081"
ANSWERED_VERBS = frozenset({102, 103})

_RESPONSE = {
    "accepted": "ACCEPTED",
    "organizer": "ACCEPTED",
    "tentativelyaccepted": "TENTATIVE",
    "declined": "DECLINED",
    "none": "NEEDS-ACTION",
    "notresponded": "NEEDS-ACTION",
}
_ROLE = {"required": "REQ-PARTICIPANT", "optional": "OPT-PARTICIPANT", "resource": "NON-PARTICIPANT"}


def _address(value: Any) -> Address | None:
    if not isinstance(value, Mapping):
        return None
    inner = value.get("emailAddress") or {}
    addr = str(inner.get("address") or "").strip().lower()
    if "@" not in addr:
        return None
    name = str(inner.get("name") or "").strip()
    return Address(addr, "" if name.lower() == addr else name)  # Graph repeats the address as name


def _addresses(values: Any) -> tuple[Address, ...]:
    out: dict[str, Address] = {}
    for value in values or ():
        a = _address(value)
        if a is not None and a.address not in out:
            out[a.address] = a
    return tuple(out.values())


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 timestamp as Graph writes it (``Z``, sometimes 7 fractional digits) → aware UTC."""
    if not value:
        return None
    text = str(value).replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:  # Python accepts at most 6 fractional digits
        digits = "".join(ch for ch in rest if ch.isdigit())
        text = f"{head}.{digits[:6]}{rest[len(digits) :]}"
    parsed = datetime.fromisoformat(text)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def message_flags(data: Mapping[str, Any]) -> frozenset[str]:
    flags = set()
    if data.get("isRead"):
        flags.add("\\Seen")
    if data.get("isDraft"):
        flags.add("\\Draft")
    if str((data.get("flag") or {}).get("flagStatus") or "").lower() == "flagged":
        flags.add("\\Flagged")
    return frozenset(flags)


def message_labels(data: Mapping[str, Any]) -> frozenset[str]:
    labels = {str(c) for c in data.get("categories") or () if c}
    if data.get("inferenceClassification"):
        labels.add(f"focused:{str(data['inferenceClassification']).lower()}")
    return frozenset(labels)


def message_record(data: Mapping[str, Any]) -> MessageRecord:
    """One item of ``messages/delta`` (not ``@removed``) → record. Raises ``BadRecord`` without an id."""
    mid = data.get("id")
    if not isinstance(mid, str) or not mid:
        raise BadRecord("Graph message without an id")
    problems: list[str] = []
    try:
        sent = parse_time(data.get("sentDateTime"))
    except ValueError:
        sent = None
        problems.append("sentDateTime: unreadable")
    try:
        received = parse_time(data.get("receivedDateTime"))
    except ValueError:
        received = None
        problems.append("receivedDateTime: unreadable")
    if sent is None and "sentDateTime: unreadable" not in problems:
        problems.append("Date: missing")
    raw_id = data.get("internetMessageId")
    message_id = normalize_message_id(raw_id) if raw_id else None
    subject = data.get("subject")
    return MessageRecord(
        provider_key=mid,
        message_id=message_id,
        date=sent,
        subject=decode_text(str(subject), problems, "Subject") if subject is not None else None,
        from_=_address(data.get("from")),
        sender=_address(data.get("sender")),
        reply_to=_addresses(data.get("replyTo")),
        to=_addresses(data.get("toRecipients")),
        cc=_addresses(data.get("ccRecipients")),
        bcc=_addresses(data.get("bccRecipients")),
        thread_id=str(data["conversationId"]) if data.get("conversationId") else None,
        flags=message_flags(data),
        labels=message_labels(data),
        received=received,
        problems=tuple(problems),
        web_link=web_link(data.get("webLink")),
    )


def web_link(value: Any) -> str | None:
    """Graph's ``webLink`` ("the URL to open the message in Outlook on the web", message
    resource, Graph v1.0: https://learn.microsoft.com/graph/api/resources/message), when it is
    an https URL of a sane length: it ends up as a link in the report, so nothing else passes."""
    if not isinstance(value, str) or not value.startswith("https://") or len(value) > 2000:
        return None
    return value if value.isprintable() and " " not in value else None


def answered(extra: Mapping[str, Any]) -> bool:
    """Whether PidTagLastVerbExecuted (if it came back) says I replied."""
    for prop in extra.get("singleValueExtendedProperties") or ():
        if str(prop.get("id", "")).lower() == LAST_VERB.lower():
            try:
                return int(prop.get("value")) in ANSWERED_VERBS
            except (TypeError, ValueError):
                return False
    return False


def with_headers(record: MessageRecord, extra: Mapping[str, Any]) -> MessageRecord:
    """Merge a ``GET /messages/{id}?$select=internetMessageHeaders`` answer into ``record``."""
    problems = list(record.problems)
    found: dict[str, str] = {}
    for item in extra.get("internetMessageHeaders") or ():
        name = str(item.get("name") or "").lower()
        if name in WANTED_HEADERS and name not in found:
            found[name] = str(item.get("value") or "")

    def text(name: str, *, lower: bool = False) -> str | None:
        value = decode_text(found.get(name), problems, name) if name in found else None
        return value.lower() if value and lower else value

    return_path = found.get("return-path")
    if return_path is not None:
        return_path = return_path.strip()
        return_path = "" if return_path in ("<>", "") else return_path.strip("<>").lower()
    flags = record.flags | ({"\\Answered"} if answered(extra) else set())
    return replace(
        record,
        list_id=text("list-id"),
        list_unsubscribe=text("list-unsubscribe"),
        list_post=text("list-post"),
        precedence=text("precedence", lower=True),
        auto_submitted=text("auto-submitted", lower=True),
        return_path=return_path,
        in_reply_to=normalize_message_id(found.get("in-reply-to")) or record.in_reply_to,
        references=parse_references(found.get("references")) or record.references,
        flags=frozenset(flags),
        problems=tuple(problems),
    )


# --- calendar --------------------------------------------------------------------------------


def _event_time(value: Any, all_day: bool) -> datetime | None:
    """A dateTimeTimeZone; kith asks for UTC (``Prefer: outlook.timezone="UTC"``)."""
    if not isinstance(value, Mapping) or not value.get("dateTime"):
        return None
    parsed = parse_time(value["dateTime"])
    if parsed is not None and all_day:
        return datetime.combine(parsed.date(), time(0), tzinfo=UTC)
    return parsed


def event_record(data: Mapping[str, Any], me: Iterable[str] = ()) -> EventRecord:
    """One item of ``calendarView/delta`` (not ``@removed``) → record."""
    eid = data.get("id")
    if not isinstance(eid, str) or not eid:
        raise BadRecord("Graph event without an id")
    all_day = bool(data.get("isAllDay"))
    try:
        start = _event_time(data.get("start"), all_day)
        end = _event_time(data.get("end"), all_day)
        original = parse_time(data.get("originalStart")) if data.get("type") in ("occurrence", "exception") else None
    except ValueError as exc:
        raise BadRecord(f"calendar event {eid}: unreadable time: {exc}", provider_key=eid) from exc
    if start is None:
        raise BadRecord(f"calendar event {eid} has no start", provider_key=eid)
    mine = {a.lower() for a in me}
    organizer = _address(data.get("organizer"))
    attendees: list[Attendee] = []
    for att in data.get("attendees") or ():
        a = _address(att)
        if a is None:
            continue
        response = str((att.get("status") or {}).get("response") or "none").lower()
        role = _ROLE.get(str(att.get("type") or "required").lower(), "REQ-PARTICIPANT")
        attendees.append(Attendee(a.address, a.name, role, _RESPONSE.get(response, "NEEDS-ACTION")))
    mine_response = str((data.get("responseStatus") or {}).get("response") or "").lower()
    my_response = _RESPONSE.get(mine_response)
    if data.get("isOrganizer") or (organizer is not None and organizer.address in mine):
        my_response = "ACCEPTED"
    elif my_response is None and any(a.address in mine for a in attendees):
        my_response = next(a.partstat for a in attendees if a.address in mine)
    cancelled = bool(data.get("isCancelled"))
    status = "CANCELLED" if cancelled else "TENTATIVE" if data.get("showAs") == "tentative" else "CONFIRMED"
    return EventRecord(
        provider_key=eid,
        uid=str(data.get("iCalUId") or eid),
        start=start,
        end=end,
        recurrence_id=original,
        all_day=all_day,
        summary=str(data["subject"]) if data.get("subject") is not None else None,
        organizer=organizer,
        attendees=tuple(attendees),
        status=status,
        my_response=my_response,
        cancelled=cancelled,
    )


def window_bounds(now: datetime, past: Any, future: Any) -> tuple[str, str]:
    """``startDateTime``/``endDateTime`` for calendarView, whole seconds in UTC."""
    start = (now - past).astimezone(UTC).replace(microsecond=0)
    end = (now + future).astimezone(UTC).replace(microsecond=0)
    return start.strftime("%Y-%m-%dT%H:%M:%SZ"), end.strftime("%Y-%m-%dT%H:%M:%SZ")


__all__ = [
    "ANSWERED_VERBS",
    "LAST_VERB",
    "MESSAGE_FIELDS",
    "WANTED_HEADERS",
    "answered",
    "event_record",
    "message_flags",
    "message_labels",
    "message_record",
    "parse_time",
    "window_bounds",
]
