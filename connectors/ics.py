"""A local ``.ics`` file or folder of them as a calendar (``[calendar] kind = "ics"``).

Recurring events are expanded with ``recurring-ical-events`` inside the configured window, each
occurrence becoming its own record keyed ``UID|RECURRENCE-ID``. A file's content can change in
place, so the cursor keeps each file's size and mtime; a changed file is re-read whole and its
occurrences are diffed against the store by a digest of their fields.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from kith.config.mailboxes import IcsCalendar, MailboxBase
from kith.connectors.base import (
    JSON,
    Address,
    Attendee,
    BaseSource,
    Batch,
    Connector,
    EventRecord,
    Known,
    Problem,
    Role,
    Stream,
    no_known,
)
from kith.connectors.recurrence import Limits, occurrences
from kith.errors import ConfigError, CursorExpired

log = logging.getLogger(__name__)


def _utc(value: Any) -> tuple[datetime, bool]:
    """A DTSTART/DTEND value as aware UTC, and whether it was an all-day date."""
    if isinstance(value, datetime):
        return (value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)), False
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=UTC), True
    raise ValueError(f"not a date: {value!r}")


def _addr(value: Any) -> str:
    text = str(value or "").strip()
    return (text[7:] if text.lower().startswith("mailto:") else text).strip().lower()


def event_record(component: Any, me: Iterable[str], key_prefix: str = "") -> EventRecord:
    """One VEVENT occurrence to an ``EventRecord``; ``me`` finds my own PARTSTAT."""
    mine = {a.lower() for a in me}
    uid = str(component.get("UID") or "")
    start, all_day = _utc(component.decoded("DTSTART"))
    end = None
    if component.get("DTEND") is not None:
        end = _utc(component.decoded("DTEND"))[0]
    elif component.get("DURATION") is not None:
        end = start + component.decoded("DURATION")
    rid = component.get("RECURRENCE-ID")
    recurrence_id = _utc(rid.dt)[0] if rid is not None else None
    organizer = None
    if component.get("ORGANIZER") is not None:
        org = component.get("ORGANIZER")
        organizer = Address(_addr(org), str(org.params.get("CN", "")))
    attendees: list[Attendee] = []
    raw = component.get("ATTENDEE") or []
    for att in raw if isinstance(raw, list) else [raw]:
        attendees.append(
            Attendee(
                address=_addr(att),
                name=str(att.params.get("CN", "")),
                role=str(att.params.get("ROLE", "REQ-PARTICIPANT")).upper(),
                partstat=str(att.params.get("PARTSTAT", "NEEDS-ACTION")).upper(),
            )
        )
    status = str(component.get("STATUS", "CONFIRMED")).upper()
    my_response = next((a.partstat for a in attendees if a.address in mine), None)
    if my_response is None and organizer is not None and organizer.address in mine:
        my_response = "ACCEPTED"  # the organizer attends their own meeting
    occurrence = recurrence_id or (start if component.get("RRULE") is not None else None)
    key = f"{key_prefix}{uid}|{occurrence.isoformat() if occurrence else ''}"
    return EventRecord(
        provider_key=key,
        uid=uid,
        start=start,
        end=end,
        recurrence_id=occurrence,
        all_day=all_day,
        summary=str(component.get("SUMMARY")) if component.get("SUMMARY") is not None else None,
        organizer=organizer,
        attendees=tuple(attendees),
        status=status,
        my_response=my_response,
        cancelled=status == "CANCELLED",
    )


def event_version(rec: EventRecord) -> str:
    return hashlib.sha1(repr(rec).encode()).hexdigest()[:20]


def expand_calendar(
    data: bytes,
    window: tuple[datetime, datetime],
    me: Iterable[str],
    key_prefix: str = "",
    limits: Limits = Limits(),
) -> tuple[list[EventRecord], list[Problem]]:
    """Every occurrence in ``window`` (recurrences expanded within ``limits``: see
    ``kith.connectors.recurrence``), plus what could not be read and the limits hit.

    ``key_prefix`` goes in front of every provider key (CalDAV: the resource's href), so that all
    occurrences of one stored object can be found, and deleted, by that prefix.
    """
    found, hit = occurrences(data, window, limits)
    records: list[EventRecord] = []
    problems: list[Problem] = [Problem(uid or "?", message) for uid, message in hit]
    for comp in found:
        if comp.name != "VEVENT":
            continue
        try:
            records.append(event_record(comp, me, key_prefix))
        except (ValueError, KeyError, TypeError) as exc:
            problems.append(Problem(str(comp.get("UID", "?")), f"unreadable event: {exc}"))
    return records, problems


class IcsSource(BaseSource):
    def __init__(self, mailbox: MailboxBase, calendar: IcsCalendar, *, now: datetime | None = None) -> None:
        self.mailbox = mailbox
        self.calendar = calendar
        self.now = now

    def streams(self) -> list[Stream]:
        if not self.calendar.path.exists():
            raise ConfigError(f"{self.mailbox.name}: calendar path {self.calendar.path} does not exist")
        return [Stream(name=f"ics:{self.calendar.path.name}", role=Role.CALENDAR, display_name=self.calendar.path.name)]

    def _files(self) -> list[Path]:
        p = self.calendar.path
        if not p.is_dir():
            return [p]
        # regular files only: a FIFO would block the read, a link lead outside the folder
        return sorted(f for f in p.rglob("*.ics") if f.is_file() and not f.is_symlink())

    def pull(self, stream: Stream, cursor: JSON | None, known: Known = no_known) -> Iterator[Batch]:
        files = self._files()
        state = {str(f): [f.stat().st_size, f.stat().st_mtime_ns] for f in files}
        now = self.now or datetime.now(UTC)
        window = (now - self.calendar.window_past, now + self.calendar.window_future)
        day = now.date().isoformat()
        if cursor is not None:
            if not isinstance(cursor.get("files"), dict):
                raise CursorExpired("calendar cursor is from another version")
            # the window moves daily: re-expand once a day even if no file changed
            if cursor["files"] == state and cursor.get("day") == day:
                return
        records: dict[str, EventRecord] = {}
        problems: list[Problem] = []
        for f in files:
            try:
                recs, probs = expand_calendar(
                    f.read_bytes(), window, self.mailbox.addresses, limits=Limits.of(self.calendar)
                )
            except (OSError, ValueError) as exc:
                problems.append(Problem(str(f), f"cannot read calendar file: {exc}"))
                continue
            records.update((r.provider_key, r) for r in recs)
            problems.extend(probs)
        have = known()
        versions = {k: event_version(r) for k, r in records.items()}
        changed = tuple(r for k, r in records.items() if have.get(k) != versions[k])
        gone = tuple(k for k in have if k not in records)
        yield Batch(
            upserts=changed,
            deletions=gone,
            problems=tuple(problems),
            versions={r.provider_key: versions[r.provider_key] for r in changed},
            cursor={"files": state, "day": day},
        )


def make_calendar_source(mailbox: MailboxBase, *, state_dir: Path) -> IcsSource:
    assert isinstance(mailbox.calendar, IcsCalendar)
    return IcsSource(mailbox, mailbox.calendar)


#: What the .ics connector can do: read calendar files (no authorization, no sending).
CONNECTOR = Connector(make_calendar_source=make_calendar_source)


__all__ = ["CONNECTOR", "IcsSource", "event_record", "event_version", "expand_calendar", "make_calendar_source"]
