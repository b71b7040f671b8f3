"""Per-contact statistics from DESIGN "Statistics" and "Conversation and cadence" (and the formulas
in analysis/stats.py's docstring): nearest-rank percentiles, reply latencies in hours within 30
days, cadence as the median gap in days between conversation starts over 12 months, counts,
reciprocity (personal in ÷ out) and the four bounded parts of strength. Each edge on both sides;
every expected value is worked out by hand from those definitions."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest

from kith.analysis.model import ContactData, Mail, Meeting
from kith.analysis.stats import cadence_gaps, contact_stats, percentile, reply_latencies, strength_parts
from kith.analysis.timeline import personal_until
from tests.analysis.rules.build import NOW, SECOND, at, contact, mail_in, mail_out, meeting

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
T = at(100)


def msg(key: str, when: datetime, inbound: bool, thread: str = "t", **kw: bool) -> Mail:
    """A message at an exact moment (latencies are checked to the second)."""
    return Mail(key, when, inbound, kw.pop("personal", True), thread=thread, **kw)


def test_percentile_is_nearest_rank_over_the_sorted_values() -> None:
    assert percentile([], 0.9) is None
    values = [5.0, 1.0, 3.0, 2.0, 4.0]
    assert percentile(values, 0.9) == 5.0  # rank ceil(4.5) = 5
    assert percentile(values, 0.5) == 3.0  # rank ceil(2.5) = 3
    assert percentile(values, 0.2) == 1.0  # rank 1
    assert percentile(values, 0.0) == 1.0  # rank 0 is the smallest
    ten = [float(v) for v in range(10, 0, -1)]
    assert percentile(ten, 0.9) == 9.0 and percentile(ten, 0.25) == 3.0


def test_my_reply_is_my_next_message_to_them_in_hours() -> None:
    data = ContactData("a@x", mails=[msg("in", T, True, "A"), msg("out", T + 5 * HOUR, False, "B")])
    assert reply_latencies(data) == ([5.0], [])
    # a message of mine sent before theirs answers nothing; the one after it does
    data = ContactData("a@x", mails=[msg("o1", T - 2 * HOUR, False, "B"), msg("in", T, True, "A"),
                                     msg("o2", T + HOUR, False, "B")])  # fmt: skip
    assert reply_latencies(data) == ([1.0], [])
    # mail that is not personal neither asks nor answers
    data = ContactData("a@x", mails=[msg("in", T, True, "A", personal=False), msg("o", T + HOUR, False, "B")])
    assert reply_latencies(data) == ([], [])


def test_my_message_in_the_same_second_is_not_a_reply() -> None:
    data = ContactData(
        "a@x", mails=[msg("in", T, True, "A"), msg("o1", T, False, "B"), msg("o2", T + 2 * HOUR, False, "B")]
    )
    assert reply_latencies(data)[0] == [2.0]


def test_my_reply_in_their_thread_counts_when_it_comes_first() -> None:
    asked = msg("in", T, True, "A")
    replies = {"A": [T + 4 * HOUR]}
    assert reply_latencies(ContactData("a@x", mails=[asked], my_thread_replies=replies))[0] == [4.0]
    later = msg("o", T + 6 * HOUR, False, "B")
    assert reply_latencies(ContactData("a@x", mails=[asked, later], my_thread_replies=replies))[0] == [4.0]
    sooner = msg("o", T + HOUR, False, "B")
    assert reply_latencies(ContactData("a@x", mails=[asked, sooner], my_thread_replies=replies))[0] == [1.0]


def test_a_reply_is_within_30_days() -> None:
    mine = [msg("in", T, True, "A"), msg("o", T + 30 * DAY, False, "B")]
    assert reply_latencies(ContactData("a@x", mails=mine)) == ([720.0], [])
    mine[1].time += SECOND
    assert reply_latencies(ContactData("a@x", mails=mine)) == ([], [])
    theirs = [msg("o", T, False, "A"), msg("in", T + 30 * DAY, True, "A")]
    assert reply_latencies(ContactData("a@x", mails=theirs)) == ([], [720.0])
    theirs[1].time += SECOND
    assert reply_latencies(ContactData("a@x", mails=theirs)) == ([], [])
    # theirs only counts in the same thread
    other = [msg("o", T, False, "A"), msg("in", T + HOUR, True, "B")]
    assert reply_latencies(ContactData("a@x", mails=other))[1] == []


def test_cadence_is_the_gap_in_days_between_conversation_starts() -> None:
    assert cadence_gaps(personal_until(contact(mail_in("a", 30), mail_out("b", 20), mail_in("c", 5)), NOW)) == [
        10.0,
        15.0,
    ]
    # a conversation has no gap over 2 days: exactly 2 days apart is one, a second more is two
    one = contact(mail_in("a", 50), mail_out("b", 48), mail_in("c", 28), mail_out("d", 8))
    assert contact_stats(one, NOW)["cadence_days"] == 21.0  # starts 50, 28, 8
    two = contact(mail_in("a", 50), mail_out("b", 48), mail_in("c", 28), mail_out("d", 8))
    two.mails[1].time += SECOND
    assert contact_stats(two, NOW)["cadence_days"] == 20.0  # starts 50, 48, 28, 8: gaps 2, 20, 20
    assert contact_stats(contact(mail_in("a", 30)), NOW)["cadence_days"] is None


def test_cadence_looks_back_12_months() -> None:
    assert contact_stats(contact(mail_in("a", 365), mail_out("b", 100)), NOW)["cadence_days"] == 265.0
    old = contact(mail_in("a", 365), mail_out("b", 100), mail_in("c", 90))
    old.mails[0].time -= SECOND
    assert contact_stats(old, NOW)["cadence_days"] == 10.0


def test_strength_parts_of_nobody_are_zero() -> None:
    assert strength_parts([], NOW) == {"recency": 0.0, "frequency": 0.0, "reciprocity": 0.0, "meetings": 0.0}


def test_strength_parts_follow_the_documented_formulas() -> None:
    parts = strength_parts(personal_until(contact(mail_in("a", 30)), NOW), NOW)
    # a month ago is half of 35; one interaction in 90 days; in without out; no meeting
    expected = {"recency": 17.5, "frequency": 30 * 1 / math.log2(25), "reciprocity": 0.0, "meetings": 0.0}
    assert parts == pytest.approx(expected, rel=1e-9)
    two_one = contact(mail_in("a", 3), mail_in("b", 2), mail_out("c", 1))
    assert strength_parts(personal_until(two_one, NOW), NOW)["reciprocity"] == pytest.approx(10.0)


@pytest.mark.parametrize(("n", "marks"), [(23, 30 * math.log2(24) / math.log2(25)), (24, 30.0), (25, 30.0), (40, 30.0)])
def test_frequency_is_full_at_24_in_90_days(n: int, marks: float) -> None:
    items = contact(*(mail_in(f"m{k}", 1 + k * 2) for k in range(n)))
    assert strength_parts(personal_until(items, NOW), NOW)["frequency"] == pytest.approx(marks, rel=1e-9)


@pytest.mark.parametrize(("n", "marks"), [(3, 7.5), (6, 15.0), (7, 15.0), (12, 15.0)])
def test_meetings_are_full_at_six_in_180_days(n: int, marks: float) -> None:
    items = contact(*(meeting(f"e{k}", 1 + k * 10) for k in range(n)))
    assert strength_parts(personal_until(items, NOW), NOW)["meetings"] == pytest.approx(marks)


def test_contact_stats_counts_latencies_reciprocity_and_strength() -> None:
    mails = [
        msg("h", at(120) + HOUR, False, "D"),  # mine, first seen
        msg("a", at(100), True, "A"),  # theirs, answered 61 minutes later by b
        msg("b", at(100) + 61 * timedelta(minutes=1), False, "A"),
        msg("c", at(50), True, "N", personal=False),  # a newsletter of theirs
        msg("g", at(30), True, "G", personal=False, broadcast=True),  # theirs, to a list
        msg("d1", at(40), False, "L1", personal=False, broadcast=True),  # mine, to a list
        msg("d2", at(35), False, "L2", personal=False, broadcast=True),
        msg("e", at(20), False, "C"),  # mine, answered three hours later by f
        msg("f", at(20) + 3 * HOUR, True, "C"),
    ]
    meetings = [Meeting("m", at(20) + HOUR, True), Meeting("x", at(70), False), Meeting("ahead", at(-3), True)]
    stats = contact_stats(ContactData("a@x", mails=mails, meetings=meetings), NOW)
    # conversations start 120 days less an hour, 100 and 20 days ago (the meeting joins e and f)
    cadence = (19 + 23 / 24 + 80) / 2
    # last f, 19.875 days ago; e, the meeting and f in 90 days; in a, f against out h, b, e; 1 meeting
    score = 35 * 0.5 ** (19.875 / 30) + 30 * math.log2(4) / math.log2(25) + 20 * 2 / 3 + 15 * 1 / 6
    assert stats == {
        "personal_in": 2,
        "personal_out": 3,
        "broadcast_out": 2,
        "meetings": 1,
        "first_seen": at(120) + HOUR,
        "last_interaction": at(20) + 3 * HOUR,
        "cadence_days": round(cadence, 2),
        "my_reply_median_h": 1.02,  # 61 minutes
        "my_reply_p90_h": 1.02,
        "their_reply_median_h": 3.0,
        "their_reply_p90_h": 3.0,
        "reciprocity": 0.667,
        "strength": round(score),
    }
    assert stats["cadence_days"] == 49.98


def test_last_interaction_without_personal_mail_is_the_latest_up_to_now() -> None:
    data = contact(Mail("n", NOW, True, False), Mail("later", NOW + SECOND, True, False))
    stats = contact_stats(data, NOW)
    assert (stats["last_interaction"], stats["personal_in"], stats["reciprocity"]) == (NOW, 0, None)
    assert (stats["my_reply_median_h"], stats["my_reply_p90_h"], stats["strength"]) == (None, None, 0)
