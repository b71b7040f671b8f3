"""Finding 3: a 278-byte calendar file exhausted memory. Through an ``.ics`` directory, on SQLite
and PostgreSQL: every recurring event is kept to ``max_occurrences`` in the window, an event
recurring more often than daily to ``max_subdaily_occurrences``, and a calendar object that takes
longer than ``expand_budget`` to expand is stopped; each limit hit is a recorded problem, and the
rest of the calendar is stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kith.config.mailboxes import IcsCalendar, MaildirMailbox
from kith.store.engine import Store
from kith.store.models import EventRow, SyncProblem
from tests.hostile.corpus import ME, sync


def vevent(uid: str, rule: str, start: datetime) -> str:
    return (
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTART:{start:%Y%m%dT%H%M%SZ}\r\nDURATION:PT30M\r\n{rule}\r\n"
        f"SUMMARY:{uid}\r\nORGANIZER:mailto:ann@example.org\r\n"
        f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{ME}\r\nEND:VEVENT\r\n"
    )


def ics(*events: str) -> bytes:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//hostile//EN\r\n" + "".join(events) + "END:VCALENDAR\r\n"
    ).encode()


def stored(store: Store) -> tuple[dict[str, int], dict[str, str]]:
    with store.engine.connect() as conn:
        per_uid = dict(conn.execute(select(EventRow.uid, func.count()).group_by(EventRow.uid)).all())
        problems = dict(conn.execute(select(SyncProblem.provider_key, SyncProblem.message)).all())
    return per_uid, problems


def calendar_mailbox(tmp_path: Path, **limits: object) -> MaildirMailbox:
    (tmp_path / "mail" / "cur").mkdir(parents=True, exist_ok=True)
    cal = IcsCalendar(kind="ics", path=tmp_path / "cal", **limits)  # type: ignore[arg-type]
    return MaildirMailbox(kind="maildir", name="cal", path=tmp_path / "mail", addresses=(ME,), calendar=cal)


def test_sub_daily_and_long_series_are_capped_and_named(store: Store, tmp_path: Path) -> None:
    start = (datetime.now(UTC) - timedelta(days=30)).replace(microsecond=0)
    (tmp_path / "cal").mkdir()
    (tmp_path / "cal" / "minutely.ics").write_bytes(ics(vevent("minutely", "RRULE:FREQ=MINUTELY;COUNT=100000", start)))
    (tmp_path / "cal" / "daily.ics").write_bytes(ics(vevent("daily", "RRULE:FREQ=DAILY", start)))
    (tmp_path / "cal" / "weekly.ics").write_bytes(ics(vevent("weekly", "RRULE:FREQ=WEEKLY;COUNT=4", start)))
    result = sync(store, calendar_mailbox(tmp_path, max_occurrences=20, max_subdaily_occurrences=7), tmp_path)
    assert result.status == "ok", result.error
    per_uid, problems = stored(store)
    assert per_uid == {"minutely": 7, "daily": 20, "weekly": 4}
    assert "more often than daily: only its first 7" in problems["minutely"]
    assert "only its first 20 occurrences" in problems["daily"]


def test_a_secondly_rule_of_278_bytes_costs_a_bounded_expansion(store: Store, tmp_path: Path) -> None:
    start = (datetime.now(UTC) - timedelta(days=30)).replace(microsecond=0)
    (tmp_path / "cal").mkdir()
    (tmp_path / "cal" / "secondly.ics").write_bytes(ics(vevent("secondly", "RRULE:FREQ=SECONDLY", start)))
    (tmp_path / "cal" / "ok.ics").write_bytes(ics(vevent("ok", "RRULE:FREQ=WEEKLY;COUNT=3", start)))
    assert sync(store, calendar_mailbox(tmp_path), tmp_path).status == "ok"
    per_uid, problems = stored(store)
    assert per_uid == {"secondly": 100, "ok": 3}  # the defaults: 100 for sub-daily, 5000 per event
    assert "only its first 100" in problems["secondly"]


@pytest.mark.parametrize("freq", ["HOURLY", "DAILY"])
def test_a_rule_no_date_satisfies_is_stopped_by_the_time_budget(store: Store, tmp_path: Path, freq: str) -> None:
    """30 February never comes: dateutil searches until the year 9999 (tens of seconds) without
    yielding, so only an interruption bounds it."""
    start = (datetime.now(UTC) - timedelta(days=30)).replace(microsecond=0)
    (tmp_path / "cal").mkdir()
    never = vevent("never", f"RRULE:FREQ={freq};BYMONTH=2;BYMONTHDAY=30", start)
    (tmp_path / "cal" / "never.ics").write_bytes(ics(never))
    (tmp_path / "cal" / "ok.ics").write_bytes(ics(vevent("ok", "RRULE:FREQ=WEEKLY;COUNT=3", start)))
    result = sync(store, calendar_mailbox(tmp_path, expand_budget="1s"), tmp_path)
    assert result.status == "ok", result.error
    per_uid, problems = stored(store)
    assert per_uid == {"ok": 3}
    assert "took more than 1 s to expand" in problems["never"]
