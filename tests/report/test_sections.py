"""The pure rules of the report: time windows across DST, links, list cut-offs, stage changes."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest

from kith.errors import ConfigError
from kith.report.formatting import cadence, hours, local_time, waited, who, zone
from kith.report.sections import (
    MessageWhere,
    day_bounds,
    gmail_thread,
    link_for,
    median,
    section,
    stage_changes,
    week_buckets,
)


def test_day_bounds_follow_the_wall_clock_across_the_october_dst_change() -> None:
    start, end = day_bounds(date(2026, 10, 25), "Europe/Berlin")
    assert start.astimezone(UTC) == datetime(2026, 10, 24, 22, 0, tzinfo=UTC)  # CEST midnight
    assert end.astimezone(UTC) == datetime(2026, 10, 25, 23, 0, tzinfo=UTC)  # CET midnight
    assert end - start == timedelta(hours=25)
    spring_start, spring_end = day_bounds(date(2026, 3, 29), "Europe/Berlin")
    assert spring_end - spring_start == timedelta(hours=23)


def test_week_buckets_end_the_day_before_the_report_and_tile_without_gaps() -> None:
    buckets = week_buckets(date(2026, 10, 28), "Europe/Berlin", 12)
    assert len(buckets) == 12
    assert buckets[-1][0] == date(2026, 10, 21)
    assert buckets[-1][2] == datetime(2026, 10, 28, tzinfo=zone("Europe/Berlin"))
    for (_, _, stop), (_, start, _) in itertools.pairwise(buckets):
        assert stop == start
    assert buckets[-1][2] - buckets[-1][1] == timedelta(days=7, hours=1)  # holds the 25-hour Sunday


def test_local_time_shows_summer_and_winter_offsets() -> None:
    before = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST
    after = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 02:30 CET (the hour repeats)
    assert local_time(before.isoformat(), "Europe/Berlin", "%H:%M %Z") == "02:30 CEST"
    assert local_time(after.isoformat(), "Europe/Berlin", "%H:%M %Z") == "02:30 CET"


def test_unknown_time_zone_is_a_config_error_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"\[report\] timezone"):
        zone("Mars/Olympus_Mons")


def test_human_durations() -> None:
    assert waited(0.01) == "under an hour"
    assert waited(1.0) == "24 hours"
    assert waited(3.2) == "3 days"
    assert waited(21) == "3 weeks"
    assert waited(75) == "2 months"
    assert hours(0.25) == "15 min"
    assert hours(3.46) == "3.5 h"
    assert hours(72) == "3.0 days"
    assert cadence(None) == "no usual rhythm yet"
    assert cadence(21) == "about every 3 weeks"
    assert who({"address": "a@x.org", "name": "Zoë"}) == "Zoë <a@x.org>"
    assert who({"address": "a@x.org", "name": ""}) == "a@x.org"


def test_gmail_link_from_api_thread_id_and_from_imap_x_gm_thrid() -> None:
    api = link_for(MessageWhere("<a@b>", "gmail", "18c2f0a1b2c3d4e5"))
    assert api == {
        "kind": "gmail",
        "url": "https://mail.google.com/mail/u/0/#all/18c2f0a1b2c3d4e5",
        "hint": "rfc822msgid:a@b",
    }
    thrid = str(int("18c2f0a1b2c3d4e5", 16))
    imap = link_for(MessageWhere("<a@b>", "imap", thrid, ("[Gmail]/All Mail",)))
    assert imap["url"] == api["url"]
    assert gmail_thread("not a thread id!") is None


def test_outlook_weblink_and_message_id_hint() -> None:
    graph = link_for(MessageWhere("<a@b>", "graph", "conv-1", provider_key="AAMk/AD+="))
    assert graph["kind"] == "outlook"
    assert graph["url"].startswith("https://outlook.office365.com/owa/?ItemID=AAMk%2FAD%2B%3D&")
    plain = link_for(MessageWhere("<a@b>", "imap", None, ("INBOX",)))
    assert plain == {"kind": "message_id", "url": None, "hint": "Message-ID: <a@b>"}
    # an IMAP thread id on a server that is not Gmail is not a Gmail link
    assert link_for(MessageWhere("<a@b>", "imap", "12345", ("INBOX",)))["kind"] == "message_id"


def test_section_cuts_long_lists_and_counts_the_rest() -> None:
    s = section("respond", [{"n": i} for i in range(500)], max_items=10)
    assert (s["total"], len(s["items"]), s["more"]) == (500, 10, 490)
    assert s["command"].startswith("kith flags")


def test_stage_changes_report_moves_not_everyone_the_first_time() -> None:
    names = {"a@x": "Ann", "b@x": "Bob", "c@x": "Cy", "d@x": "Di"}
    assert stage_changes(None, {"a@x": "build-up"}, names) == []
    before = {"a@x": "continuation", "b@x": "acquaintance", "c@x": "continuation"}
    after = {"a@x": "deterioration", "b@x": "build-up", "c@x": "continuation", "d@x": "acquaintance"}
    changes = stage_changes(before, after, names)
    assert [(c["contact"]["address"], c["before"], c["after"], c["direction"]) for c in changes] == [
        ("a@x", "continuation", "deterioration", "down"),
        ("b@x", "acquaintance", "build-up", "up"),
    ]


def test_median() -> None:
    assert median([]) is None
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([1.0, 2.0, 3.0, 4.0]) == 2.5
