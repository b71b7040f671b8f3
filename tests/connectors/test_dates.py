"""The Date header (RFC 5322 §3.3) at its edges: ``[day-of-week ","] day month year hour ":"
minute [":" second] zone``, zone = ("+" / "-") 4DIGIT with hours ≤ 23 and minutes ≤ 59, the
obsolete zones and two-digit years of §4.3, ``-0000`` for "local time unknown". What cannot be
read is missing and named in ``problems``; nothing is read in the machine's local time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kith.connectors.dates import parse_date


def read(text: str | None) -> tuple[datetime | None, list[str]]:
    problems: list[str] = []
    return parse_date(text, problems), problems


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("Tue, 3 Mar 2026 23:30:00 +0000", datetime(2026, 3, 3, 23, 30, tzinfo=UTC)),
        ("Tue, 3 Mar 2026 23:30:00 +0100", datetime(2026, 3, 3, 22, 30, tzinfo=UTC)),
        ("Tue, 3 Mar 2026 23:30:00 -0130", datetime(2026, 3, 4, 1, 0, tzinfo=UTC)),
        ("Tue, 3 Mar 2026 00:10:00 +0045", datetime(2026, 3, 2, 23, 25, tzinfo=UTC)),
        ("Tue, 3 Mar 2026 12:00:00 +2359", datetime(2026, 3, 2, 12, 1, tzinfo=UTC)),
        ("Tue, 3 Mar 2026 12:00:00 -2359", datetime(2026, 3, 4, 11, 59, tzinfo=UTC)),
        ("3 Mar 2026 23:30 +0000", datetime(2026, 3, 3, 23, 30, tzinfo=UTC)),  # no day, no seconds
        ("03 mar 2026 23:30:59 +0000", datetime(2026, 3, 3, 23, 30, 59, tzinfo=UTC)),
        ("Tue,3 MAR 2026 23:30:07 +0000 (UTC)", datetime(2026, 3, 3, 23, 30, 7, tzinfo=UTC)),
        ("  Tue, 3 Dec 2026 23:30:00 +0000  ", datetime(2026, 12, 3, 23, 30, tzinfo=UTC)),
        ("Tue, 3 Jan 2026 23:30:00 +0000", datetime(2026, 1, 3, 23, 30, tzinfo=UTC)),
        ("Tue, 3 Mar 2026 10:00:00 EST", datetime(2026, 3, 3, 15, 0, tzinfo=UTC)),  # obsolete zone
        ("Tue, 3 Mar 26 10:00:00 +0000", datetime(2026, 3, 3, 10, 0, tzinfo=UTC)),  # two-digit year
        ("Tue, 3 Mar 2026 23:30:00 -0000", datetime(2026, 3, 3, 23, 30, tzinfo=UTC)),
        ("Tue, 3 Mar 2026 23:30:00", datetime(2026, 3, 3, 23, 30, tzinfo=UTC)),
        ("Tue, 29 Feb 2028 08:00:00 +0000", datetime(2028, 2, 29, 8, 0, tzinfo=UTC)),
        # the general path (a two-digit year) with the largest possible zones
        ("3 Mar 26 12:00:00 +2359", datetime(2026, 3, 2, 12, 1, tzinfo=UTC)),
        ("3 Mar 26 12:00:00 -0059", datetime(2026, 3, 3, 12, 59, tzinfo=UTC)),
    ],
)
def test_readable_dates_are_utc_with_no_problem(text: str, utc: datetime) -> None:
    assert read(text) == (utc, [])


@pytest.mark.parametrize("zone", ["+2400", "-2400", "+0060", "+9999"])
def test_an_impossible_zone_is_read_as_utc_and_named(zone: str) -> None:
    text = f"Tue, 3 Mar 2026 12:00:00 {zone}"
    assert read(text) == (
        datetime(2026, 3, 3, 12, 0, tzinfo=UTC),
        [f"Date: impossible zone offset in {text!r} (read as UTC)"],
    )


@pytest.mark.parametrize(
    "text",
    [
        "Do, 1 Okt 2020 10:00:00 +0200",
        "Thu, 1 Okt 2020 10:00:00 +0200",
        "the day after tomorrow",
        "Mon, 1 Jan 0001 00:00:00 +0000",
        "",
    ],
)
def test_an_unreadable_date_is_missing_and_named(text: str) -> None:
    assert read(text) == (None, [f"Date: unparsable {text!r}"])


def test_a_date_that_does_not_exist_is_out_of_range() -> None:
    assert read("Mon, 30 Feb 2026 10:00:00 +0000") == (None, ["Date: out of range 'Mon, 30 Feb 2026 10:00:00 +0000'"])
    assert read("Fri, 31 Dec 9999 23:00:00 -0200")[1] == ["Date: out of range 'Fri, 31 Dec 9999 23:00:00 -0200'"]


def test_no_date_header_is_missing() -> None:
    assert read(None) == (None, ["Date: missing"])


def test_a_hostile_date_is_shown_cleaned_and_short() -> None:
    _, problems = read("x\x00" * 100)
    assert problems == [f"Date: unparsable {('x' * 60)!r}"]


def test_surrounding_white_space_is_not_part_of_the_date() -> None:
    assert read("   nonsense \t ") == (None, ["Date: unparsable 'nonsense'"])
