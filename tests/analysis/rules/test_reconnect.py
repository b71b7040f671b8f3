"""Reconnect, from DESIGN.md: a two-way contact (≥ 4 personal interactions in the last 12 months,
both directions; a meeting is both) whose time since the last personal interaction *exceeds*
max(14 days, 1.5 × cadence), or 60 days whatever the cadence; a meeting scheduled ahead counts as
contact. The cadence is the median gap between interactions of the last 12 months.

Every threshold below is worked out by hand from that definition, and each is tested on both
sides of its edge.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from kith.analysis.model import ContactData, Mail, Meeting
from kith.analysis.rules.reconnect import reconnect
from tests.analysis.rules.build import ANN, CFG, NOW, SECOND, at, contact, meeting

DAY = timedelta(days=1)


def history(last: datetime, gaps: list[timedelta], kinds: str = "io") -> list[Mail | Meeting]:
    """Interactions ending at ``last``, separated by ``gaps`` (oldest gap first); their kinds
    cycle through ``kinds`` (i = from them, o = from me, m = a meeting)."""
    times = [last]
    for g in reversed(gaps):
        times.insert(0, times[0] - g)
    out: list[Mail | Meeting] = []
    for n, t in enumerate(times):
        kind = kinds[n % len(kinds)]
        if kind == "m":
            out.append(Meeting(f"e{n}", t, True))
        else:
            out.append(Mail(f"m{n}", t, kind == "i", True, to_me=kind == "i"))
    return out


def overdue(data: ContactData) -> bool:
    found = reconnect(data, CFG, NOW)
    assert isinstance(found, list)  # no finding is an empty list, as every rule returns
    return bool(found)


def test_a_cadence_of_20_days_is_overdue_just_after_30_days_not_at_30() -> None:
    # median gap 20 days: threshold max(14, 1.5 × 20) = 30 days, under the 60-day cap
    assert not overdue(contact(*history(at(30), [20 * DAY] * 4)))
    assert overdue(contact(*history(at(30) - SECOND, [20 * DAY] * 4)))
    # and not at 20 days (the 14-day floor alone would say overdue)
    assert not overdue(contact(*history(at(20), [20 * DAY] * 4)))


def test_the_finding_names_the_last_interaction_and_when_it_became_overdue() -> None:
    last = at(31)
    [f] = reconnect(contact(*history(last, [20 * DAY] * 4)), CFG, NOW)
    assert f.kind == "reconnect"
    assert f.key == f"reconnect:{ANN}:{last.isoformat()}"
    assert f.mark == last.isoformat()
    assert f.since == last + 30 * DAY
    assert f.evidence == {
        "last_interaction": last.isoformat(),
        "days_since": 31.0,
        "cadence_days": 20.0,
        "threshold_days": 30.0,
        "interactions_12m": 5,
    }


def test_a_short_cadence_still_waits_14_days() -> None:
    # median gap 4 days: 1.5 × 4 = 6 days, below the 14-day floor
    assert not overdue(contact(*history(at(14), [4 * DAY] * 5)))
    assert overdue(contact(*history(at(14) - SECOND, [4 * DAY] * 5)))
    [f] = reconnect(contact(*history(at(15), [4 * DAY] * 5)), CFG, NOW)
    assert f.evidence["threshold_days"] == 14.0


def test_a_long_cadence_is_capped_at_60_days() -> None:
    # median gap 50 days: 1.5 × 50 = 75 days, but never more than 60
    gaps = [50 * DAY] * 4
    assert not overdue(contact(*history(at(60), gaps)))
    assert overdue(contact(*history(at(60) - SECOND, gaps)))
    [f] = reconnect(contact(*history(at(61), gaps)), CFG, NOW)
    assert f.evidence["threshold_days"] == 60.0
    assert f.since == at(61) + 60 * DAY


def test_the_cadence_is_the_median_gap_not_the_mean() -> None:
    # gaps 10, 10, 40 days: median 10 (threshold 15 days); the mean, 20, would give 30
    gaps = [10 * DAY, 40 * DAY, 10 * DAY]
    [f] = reconnect(contact(*history(at(16), gaps)), CFG, NOW)
    assert f.evidence["cadence_days"] == 10.0
    assert f.evidence["threshold_days"] == 15.0


def test_evidence_is_in_days_to_one_decimal() -> None:
    # a cadence of 9.05005 days and a silence of 61.0501 days show as 9.1 and 61.1
    gap = timedelta(days=9.05005)
    last = NOW - timedelta(days=61.0501)
    [f] = reconnect(contact(*history(last, [gap] * 4)), CFG, NOW)
    assert f.evidence["cadence_days"] == 9.1
    assert f.evidence["days_since"] == 61.1
    # a threshold of 45.0501 days (cadence 30.0334) shows as 45.1
    gap = timedelta(days=45.0501) / 1.5
    [f] = reconnect(contact(*history(at(46), [gap] * 4)), CFG, NOW)
    assert f.evidence["threshold_days"] == 45.1
    assert f.evidence["cadence_days"] == 30.0


def test_four_personal_interactions_are_enough_three_are_not() -> None:
    assert overdue(contact(*history(at(40), [10 * DAY] * 3)))  # 4 interactions
    assert not overdue(contact(*history(at(40), [10 * DAY] * 2)))  # 3


def test_only_the_last_12_months_count() -> None:
    # 4 interactions, but the oldest 366 days ago: 3 in the year, not a two-way contact by count
    items = history(at(100), [10 * DAY] * 2)
    assert not overdue(contact(Mail("old", at(366), True, True, to_me=True), *items))
    assert overdue(contact(Mail("old", at(364), True, True, to_me=True), *items))


def test_both_directions_are_needed_or_a_meeting() -> None:
    gaps = [10 * DAY] * 4
    assert not overdue(contact(*history(at(40), gaps, kinds="i")))  # only from them
    assert not overdue(contact(*history(at(40), gaps, kinds="o")))  # only from me
    assert overdue(contact(*history(at(40), gaps, kinds="io")))
    assert overdue(contact(*history(at(40), gaps, kinds="m")))  # meetings alone are two-way
    assert overdue(contact(*history(at(40), gaps, kinds="im")))
    assert overdue(contact(*history(at(40), gaps, kinds="om")))


def test_a_meeting_ahead_counts_as_contact() -> None:
    items = history(at(40), [10 * DAY] * 4)
    assert not overdue(contact(*items, meeting("next", -3)))
    # one that does not count (declined, too big) does not hold it back
    assert overdue(contact(*items, meeting("next", -3, counts=False)))


def test_the_last_interaction_is_the_latest_whatever_its_kind() -> None:
    items = history(at(40), [10 * DAY] * 4)
    last = at(20)
    # a meeting 20 days ago is the last interaction: 20 days is under the 15-day…
    # …threshold? no: cadence is the median of 10,10,10,10,20 = 10, threshold 15: overdue
    [f] = reconnect(contact(*items, meeting("met", 20)), CFG, NOW)
    assert f.evidence["last_interaction"] == last.isoformat()
    assert f.evidence["interactions_12m"] == 6
    # mail that is not personal is not an interaction
    [f] = reconnect(contact(*items, Mail("news", at(1), False, False)), CFG, NOW)
    assert f.evidence["last_interaction"] == at(40).isoformat()
