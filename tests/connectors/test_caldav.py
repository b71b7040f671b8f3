"""The CalDAV calendar source against a real Radicale.

The message-shaped ``ConnectorContract`` does not fit calendars, so its cases are spelled out
here for events: initial pull, incremental add/modify/delete, no-op, resume after a crash, and an
expired sync-token resynced by the real ``SyncEngine`` into SQLite without duplicates. Every
incremental case runs twice: with RFC 6578 sync-tokens and with the ctag + etag fallback.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kith.config.mailboxes import CaldavCalendar, MaildirMailbox
from kith.connectors.base import EventRecord, Stream
from kith.connectors.caldav import CaldavSource
from kith.connectors.caldav_server import CaldavServer
from kith.daemon.sync import SyncEngine
from kith.errors import AuthError, ConfigError, CursorExpired, TransientError
from kith.store.engine import Store
from kith.store.models import EventRow
from tests.connectors.contract import Replica, assert_capabilities_real
from tests.fixtures import free_port
from tests.fixtures.radicale import RadicaleCalendar, RadicaleServer

pytestmark = pytest.mark.integration

NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)
ME = "me@x.com"


def vevent(uid: str, start: datetime, *, summary: str = "meeting", extra: str = "") -> str:
    end = start + timedelta(minutes=30)
    return (
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//kith//test//EN\nBEGIN:VEVENT\n"
        f"UID:{uid}\nDTSTAMP:20260101T000000Z\nDTSTART:{start:%Y%m%dT%H%M%SZ}\nDTEND:{end:%Y%m%dT%H%M%SZ}\n"
        f"SUMMARY:{summary}\n{extra}END:VEVENT\nEND:VCALENDAR\n"
    )


WEEKLY = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//kith//test//EN
BEGIN:VEVENT
UID:weekly@test
DTSTAMP:20260101T000000Z
DTSTART:20260601T090000Z
DTEND:20260601T093000Z
RRULE:FREQ=WEEKLY;COUNT=6
EXDATE:20260629T090000Z
SUMMARY:1:1
ORGANIZER;CN=Bob:mailto:bob@y.com
ATTENDEE;CN=Bob;PARTSTAT=ACCEPTED;ROLE=CHAIR:mailto:bob@y.com
ATTENDEE;PARTSTAT=TENTATIVE:mailto:ME@x.com
ATTENDEE;PARTSTAT=DECLINED;ROLE=OPT-PARTICIPANT:mailto:carol@z.com
END:VEVENT
BEGIN:VEVENT
UID:weekly@test
DTSTAMP:20260101T000000Z
RECURRENCE-ID:20260608T090000Z
DTSTART:20260608T140000Z
DTEND:20260608T150000Z
SUMMARY:1:1 (moved)
ORGANIZER;CN=Bob:mailto:bob@y.com
ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@y.com
ATTENDEE;PARTSTAT=ACCEPTED:mailto:me@x.com
END:VEVENT
BEGIN:VEVENT
UID:weekly@test
DTSTAMP:20260101T000000Z
RECURRENCE-ID:20260615T090000Z
DTSTART:20260615T090000Z
DTEND:20260615T093000Z
STATUS:CANCELLED
SUMMARY:1:1
ORGANIZER;CN=Bob:mailto:bob@y.com
END:VEVENT
END:VCALENDAR
"""

#: What a server that stores objects verbatim may hand out: a DTSTART that is not a date (the
#: expansion would skip that event silently) and an object that is not iCalendar at all.
#: Radicale repairs or rejects both on PUT, so the test swaps them in on their way to the parser.
BAD_DTSTART = vevent("broken@test", NOW).replace("DTSTART:20260615T120000Z", "DTSTART:20260615T25990Z")
NOT_ICALENDAR = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:garbled@test\nthis line has no colon\n"


def mailbox(
    radicale: RadicaleServer,
    tmp_path: Path,
    cal: RadicaleCalendar,
    *,
    password: str | None = None,
    url: str | None = None,
    **calendar: object,
) -> MaildirMailbox:
    """A Maildir mailbox (empty) with the test calendar as its ``[calendar]`` (at ``url``: a proxy)."""
    secret = tmp_path / "caldav.pass"
    secret.write_text((password or radicale.password) + "\n")
    secret.chmod(0o600)
    maildir = tmp_path / "Mail"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    return MaildirMailbox(
        kind="maildir",
        name="work",
        path=maildir,
        addresses=(ME,),
        calendar=CaldavCalendar(
            kind="caldav",
            url=url or radicale.url,
            username=radicale.username,
            password_file=secret,
            calendars=(cal.cal_id,),
            timeout=timedelta(seconds=10),
            **calendar,  # type: ignore[arg-type]
        ),
    )


def source(mb: MaildirMailbox, *, sync_token: bool = True, now: datetime = NOW, batch_size: int = 500) -> CaldavSource:
    assert isinstance(mb.calendar, CaldavCalendar)
    return CaldavSource(mb, mb.calendar, now=now, use_sync_token=sync_token, batch_size=batch_size)


def only_stream(src: CaldavSource) -> Stream:
    (stream,) = src.streams()
    return stream


def events(rep: Replica) -> dict[str, EventRecord]:
    return {k: v for k, v in rep.items.items() if isinstance(v, EventRecord)}


def uids(rep: Replica) -> list[str]:
    return sorted(e.uid for e in events(rep).values())


@pytest.fixture
def cal(radicale: RadicaleServer) -> RadicaleCalendar:
    return radicale.new_calendar("Work")


@pytest.mark.parametrize("sync_token", [True, False], ids=["sync-token", "ctag-etag"])
def test_initial_and_incremental_add_modify_delete(
    radicale: RadicaleServer, cal: RadicaleCalendar, tmp_path: Path, sync_token: bool
) -> None:
    for i in range(3):
        cal.put(vevent(f"ev{i}@test", NOW + timedelta(days=i), summary=f"meeting {i}"))
    src = source(mailbox(radicale, tmp_path, cal), sync_token=sync_token)
    stream = only_stream(src)
    assert stream.name == cal.url and stream.display_name == "Work" and stream.is_calendar
    rep = Replica().sync(src, stream)
    assert uids(rep) == ["ev0@test", "ev1@test", "ev2@test"]
    assert rep.cursor is not None and ("token" in rep.cursor) is sync_token
    ev1 = next(e for e in events(rep).values() if e.uid == "ev1@test")
    assert ev1.start == NOW + timedelta(days=1) and ev1.end == ev1.start + timedelta(minutes=30)
    assert ev1.summary == "meeting 1" and not ev1.cancelled
    assert ev1.provider_key.startswith("ev1@test.ics#")

    rep.sync(src, stream)
    assert rep.upserted == 0, "a no-change pull upserted something"
    batches = rep.batches
    rep.sync(src, stream)
    assert rep.batches == batches, "a no-change pull yielded a batch"

    cal.put(vevent("ev3@test", NOW + timedelta(days=3)))
    cal.put(vevent("ev0@test", NOW, summary="meeting 0 with a new agenda"))
    cal.delete("ev2@test.ics")
    rep.sync(src, stream)
    assert rep.upserted == 2, "only the new and the modified event should be fetched"
    assert uids(rep) == ["ev0@test", "ev1@test", "ev3@test"]
    assert next(e for e in events(rep).values() if e.uid == "ev0@test").summary == "meeting 0 with a new agenda"
    src.close()

    # a restarted daemon continues from the stored cursor
    src = source(mailbox(radicale, tmp_path, cal), sync_token=sync_token)
    cal.delete("ev3@test.ics")
    rep.sync(src, only_stream(src))
    assert rep.upserted == 0 and uids(rep) == ["ev0@test", "ev1@test"]
    src.close()


@pytest.mark.parametrize("sync_token", [True, False], ids=["sync-token", "ctag-etag"])
def test_recurring_series_with_exception_cancellation_and_attendees(
    radicale: RadicaleServer, cal: RadicaleCalendar, tmp_path: Path, sync_token: bool
) -> None:
    cal.put(WEEKLY)
    src = source(mailbox(radicale, tmp_path, cal), sync_token=sync_token)
    stream = only_stream(src)
    rep = Replica().sync(src, stream)
    occ = sorted(events(rep).values(), key=lambda e: e.recurrence_id or e.start)
    # six weeks, one EXDATE: five occurrences, each its own key under the resource's prefix
    assert [e.recurrence_id for e in occ] == [datetime(2026, 6, d, 9, tzinfo=UTC) for d in (1, 8, 15, 22)] + [
        datetime(2026, 7, 6, 9, tzinfo=UTC)
    ]
    assert len({e.provider_key for e in occ}) == 5
    assert all(e.provider_key.startswith("weekly@test.ics#weekly@test|") for e in occ)
    first, moved, cancelled = occ[0], occ[1], occ[2]
    assert first.start == datetime(2026, 6, 1, 9, tzinfo=UTC) and first.summary == "1:1"
    assert first.organizer is not None and first.organizer.address == "bob@y.com" and first.organizer.name == "Bob"
    assert [(a.address, a.role, a.partstat) for a in first.attendees] == [
        ("bob@y.com", "CHAIR", "ACCEPTED"),
        ("me@x.com", "REQ-PARTICIPANT", "TENTATIVE"),
        ("carol@z.com", "OPT-PARTICIPANT", "DECLINED"),
    ]
    assert first.my_response == "TENTATIVE"
    assert moved.start == datetime(2026, 6, 8, 14, tzinfo=UTC) and moved.summary == "1:1 (moved)"
    assert moved.my_response == "ACCEPTED"
    assert cancelled.cancelled and cancelled.status == "CANCELLED"
    assert not any(e.cancelled for e in occ if e is not cancelled)

    # the series is cut short: the occurrences after the new end are deleted, the rest untouched
    cal.put(WEEKLY.replace("COUNT=6", "COUNT=3"))
    rep.sync(src, stream)
    assert rep.upserted == 0
    assert sorted(e.start.day for e in events(rep).values()) == [1, 8, 15]
    # the whole series is deleted: every occurrence key goes
    cal.delete("weekly@test.ics")
    rep.sync(src, stream)
    assert events(rep) == {}
    src.close()


def test_window_expansion_moves_daily_and_keeps_the_past(
    radicale: RadicaleServer, cal: RadicaleCalendar, tmp_path: Path
) -> None:
    """An endless series is expanded inside the window only; a day later the window moved."""
    cal.put(vevent("endless@test", datetime(2026, 1, 5, 9, tzinfo=UTC), extra="RRULE:FREQ=WEEKLY\n"))
    cal.put(vevent("old@test", NOW - timedelta(days=400)))  # before the window: not an event we keep
    mb = mailbox(radicale, tmp_path, cal, window_past=timedelta(days=14), window_future=timedelta(days=14))
    src = source(mb)
    stream = only_stream(src)
    rep = Replica().sync(src, stream)
    starts = sorted(e.start for e in events(rep).values())
    assert uids(rep) == ["endless@test"] * 4
    assert starts[0] >= NOW - timedelta(days=14) and starts[-1] <= NOW + timedelta(days=14)

    later = source(mb, now=NOW + timedelta(days=7))
    rep.sync(later, stream)
    assert rep.upserted == 1, "the window moved a week: one new occurrence"
    assert len(events(rep)) == 5, "occurrences that slid out of the past are history, kept"
    src.close()
    later.close()


def test_broken_events_are_problems_and_the_rest_syncs(
    radicale: RadicaleServer, cal: RadicaleCalendar, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cal.put(vevent("good@test", NOW))
    cal.put(vevent("broken@test", NOW), "broken.ics")
    cal.put(vevent("garbled@test", NOW), "garbled.ics")
    cal.put(vevent("also-good@test", NOW + timedelta(hours=2)))
    fetch = CaldavServer.fetch

    def verbatim_server(self: CaldavServer, calendar: object, names: list[str]) -> dict[str, bytes]:
        got = fetch(self, calendar, names)
        got.update({"broken.ics": BAD_DTSTART.encode(), "garbled.ics": NOT_ICALENDAR.encode()})
        return {k: v for k, v in got.items() if k in names}

    monkeypatch.setattr(CaldavServer, "fetch", verbatim_server)
    src = source(mailbox(radicale, tmp_path, cal))
    stream = only_stream(src)
    batches = list(src.pull(stream, None))
    problems = {p.provider_key: p.message for b in batches for p in b.problems}
    assert sorted(problems) == ["broken.ics#broken@test", "garbled.ics"]
    assert "DTSTART" in problems["broken.ics#broken@test"]
    assert "unreadable calendar object" in problems["garbled.ics"]
    upserts = [r for b in batches for r in b.upserts if isinstance(r, EventRecord)]
    assert sorted(r.uid for r in upserts) == ["also-good@test", "good@test"]
    assert batches[-1].cursor is not None, "problems must not stop the cursor from advancing"
    src.close()


def test_resume_after_a_crash_between_batches(radicale: RadicaleServer, cal: RadicaleCalendar, tmp_path: Path) -> None:
    for i in range(7):
        cal.put(vevent(f"r{i}@test", NOW + timedelta(hours=i)))
    mb = mailbox(radicale, tmp_path, cal)
    src = source(mb, batch_size=2)
    stream = only_stream(src)
    rep = Replica().sync(src, stream, limit=1)
    assert len(events(rep)) == 2
    src.close()
    src = source(mb, batch_size=2)
    rep.sync(src, stream)
    assert uids(rep) == sorted(f"r{i}@test" for i in range(7))
    assert rep.upserted == 5, "what the first batch stored was fetched again but not rewritten"
    src.close()


def test_forgotten_sync_token_raises_cursor_expired(
    radicale: RadicaleServer, cal: RadicaleCalendar, tmp_path: Path
) -> None:
    cal.put(vevent("a@test", NOW))
    src = source(mailbox(radicale, tmp_path, cal))
    stream = only_stream(src)
    rep = Replica().sync(src, stream)
    assert rep.cursor is not None
    cal.forget_sync_tokens()
    cal.put(vevent("b@test", NOW))  # an unchanged collection still recognises its current token
    with pytest.raises(CursorExpired):
        list(src.pull(stream, rep.cursor, rep.known))
    src.close()


def test_expired_sync_token_full_resync_through_the_engine(
    radicale: RadicaleServer, cal: RadicaleCalendar, tmp_path: Path, sqlite_store: Store
) -> None:
    """The engine resyncs from scratch; the store ends with each occurrence once, deletions applied."""
    now = datetime.now(UTC).replace(microsecond=0)
    cal.put(vevent("keep@test", now + timedelta(days=1)))
    cal.put(vevent("gone@test", now + timedelta(days=2)))
    cal.put(vevent("series@test", now - timedelta(days=7), extra="RRULE:FREQ=WEEKLY;COUNT=4\n"))
    mb = mailbox(radicale, tmp_path, cal)
    engine = SyncEngine(sqlite_store, state_dir=tmp_path, attempts=1)
    first = engine.sync_mailbox(mb)
    assert first.status == "ok", first.error

    def stored() -> list[str]:
        with sqlite_store.engine.connect() as conn:
            return sorted(conn.execute(select(EventRow.uid)).scalars())

    assert stored() == ["gone@test", "keep@test"] + ["series@test"] * 4
    cal.forget_sync_tokens()
    cal.delete("gone@test.ics")
    cal.put(vevent("new@test", now + timedelta(days=3)))
    second = engine.sync_mailbox(mb)
    assert second.status == "ok", second.error
    (cal_stream,) = [s for s in second.streams if s.role == "calendar"]
    assert cal_stream.resynced and cal_stream.error is None
    assert stored() == ["keep@test", "new@test"] + ["series@test"] * 4
    with sqlite_store.engine.connect() as conn:
        keys = conn.execute(select(func.count(), func.count(EventRow.provider_key.distinct()))).one()
    assert keys[0] == keys[1] == 6
    assert cal_stream.upserts == 1, "the resync rewrote events that had not changed"


def test_wrong_password_is_an_auth_error(radicale: RadicaleServer, cal: RadicaleCalendar, tmp_path: Path) -> None:
    mb = mailbox(radicale, tmp_path, cal, password="not-the-password")
    src = source(mb)
    with pytest.raises(AuthError) as info:
        src.streams()
    assert "password_file" in (info.value.hint or "") and "mailboxes.d/work.toml" in (info.value.hint or "")
    src.close()


def test_wrong_password_stops_the_mailbox_in_the_engine(
    radicale: RadicaleServer, cal: RadicaleCalendar, tmp_path: Path, sqlite_store: Store
) -> None:
    mb = mailbox(radicale, tmp_path, cal, password="not-the-password")
    result = SyncEngine(sqlite_store, state_dir=tmp_path, attempts=1).sync_mailbox(mb)
    assert result.status == "auth" and "password_file" in (result.error or "")


def test_unreachable_server_is_transient(radicale: RadicaleServer, cal: RadicaleCalendar, tmp_path: Path) -> None:
    mb = mailbox(radicale, tmp_path, cal)
    assert isinstance(mb.calendar, CaldavCalendar)
    dead = mb.calendar.model_copy(update={"url": f"http://127.0.0.1:{free_port()}/"})
    src = CaldavSource(mb, dead, now=NOW)
    with pytest.raises(TransientError):
        src.streams()
    src.close()


def test_calendar_selection_by_name_and_unknown_names(radicale: RadicaleServer, tmp_path: Path) -> None:
    work = radicale.new_calendar("Work stuff")
    mb = mailbox(radicale, tmp_path, work)
    assert isinstance(mb.calendar, CaldavCalendar)
    by_name = mb.calendar.model_copy(update={"calendars": ("Work stuff",)})
    streams = CaldavSource(mb, by_name).streams()
    assert work.url in {s.name for s in streams}
    wrong = mb.calendar.model_copy(update={"calendars": ("Holidays-nonexistent",)})
    with pytest.raises(ConfigError) as info:
        CaldavSource(mb, wrong).streams()
    assert info.value.problems[0].key == "calendar.calendars"
    everything = mb.calendar.model_copy(update={"calendars": ()})
    assert work.url in {s.name for s in CaldavSource(mb, everything).streams()}


@pytest.mark.filterwarnings("ignore:Unverified HTTPS request")
def test_tls_is_verified_by_default(radicale_tls: RadicaleServer, tmp_path: Path) -> None:
    """A self-signed certificate is refused unless the config says otherwise; that is no retry case."""
    cal = radicale_tls.new_calendar("Secure")
    cal.put(vevent("tls@test", NOW))
    mb = mailbox(radicale_tls, tmp_path, cal)
    with pytest.raises(ConfigError) as info:
        source(mb).streams()
    assert "verify_tls" in (info.value.hint or "")
    trusting = mailbox(radicale_tls, tmp_path, cal, verify_tls=False)
    src = source(trusting)
    rep = Replica().sync(src, only_stream(src))
    assert uids(rep) == ["tls@test"]
    src.close()


def test_capabilities_are_declared_as_the_source_really_has_them(
    radicale: RadicaleServer, cal: RadicaleCalendar, tmp_path: Path
) -> None:
    cal.put(vevent("cap@test", NOW))
    src = source(mailbox(radicale, tmp_path, cal))
    try:
        assert assert_capabilities_real(src) == frozenset({"check"})
    finally:
        src.close()
