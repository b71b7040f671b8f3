"""The .ics calendar source: recurrences expanded in the window, my PARTSTAT, cancellations."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from kith.config.mailboxes import IcsCalendar, MaildirMailbox
from kith.connectors.ics import IcsSource
from tests.connectors.contract import Replica, assert_capabilities_real

NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)

ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//kith//test//EN
BEGIN:VEVENT
UID:weekly@test
DTSTART:20260601T090000Z
DTEND:20260601T093000Z
RRULE:FREQ=WEEKLY;COUNT=6
SUMMARY:1:1
ORGANIZER;CN=Bob:mailto:bob@x.com
ATTENDEE;CN=Bob;PARTSTAT=ACCEPTED:mailto:bob@x.com
ATTENDEE;PARTSTAT=ACCEPTED;ROLE=REQ-PARTICIPANT:mailto:ME@x.com
END:VEVENT
BEGIN:VEVENT
UID:cancelled@test
DTSTART;TZID=Europe/Berlin:20260610T140000
DTEND;TZID=Europe/Berlin:20260610T150000
STATUS:CANCELLED
ORGANIZER:mailto:me@x.com
ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:carol@y.com
END:VEVENT
BEGIN:VEVENT
UID:allday@test
DTSTART;VALUE=DATE:20260612
SUMMARY:Offsite
ATTENDEE;PARTSTAT=DECLINED:mailto:me@x.com
END:VEVENT
END:VCALENDAR
"""


def source(path: Path) -> IcsSource:
    mb = MaildirMailbox(kind="maildir", name="m", path=path.parent, addresses=("me@x.com",))
    return IcsSource(mb, IcsCalendar(kind="ics", path=path), now=NOW)


def test_expansion_partstat_and_cancellation(tmp_path: Path) -> None:
    p = tmp_path / "cal.ics"
    p.write_text(ICS)
    src = source(p)
    (stream,) = src.streams()
    rep = Replica().sync(src, stream)
    events = list(rep.items.values())
    weekly = sorted((e for e in events if e.uid == "weekly@test"), key=lambda e: e.start)  # type: ignore[union-attr]
    assert len(weekly) == 6 and weekly[0].start == datetime(2026, 6, 1, 9, tzinfo=UTC)
    assert all(e.my_response == "ACCEPTED" for e in weekly)
    cancelled = next(e for e in events if e.uid == "cancelled@test")
    assert cancelled.cancelled and cancelled.start == datetime(2026, 6, 10, 12, tzinfo=UTC)
    assert cancelled.my_response == "ACCEPTED"  # organizer
    allday = next(e for e in events if e.uid == "allday@test")
    assert allday.all_day and allday.my_response == "DECLINED"
    # unchanged file: nothing; edited file: only what changed
    rep.sync(src, stream)
    assert rep.upserted == 0
    p.write_text(ICS.replace("SUMMARY:Offsite", "SUMMARY:Offsite moved"))
    rep.sync(src, stream)
    assert rep.upserted == 1
    p.write_text(ICS.replace("COUNT=6", "COUNT=4"))
    rep.sync(src, stream)
    assert len([e for e in rep.items.values() if e.uid == "weekly@test"]) == 4


def test_capabilities_are_declared_as_the_source_really_has_them(tmp_path: Path) -> None:
    p = tmp_path / "cal.ics"
    p.write_text(ICS)
    assert assert_capabilities_real(source(p)) == frozenset()
