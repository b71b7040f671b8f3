"""Levinger's stages (DESIGN "Stage"; the order and edges are analysis/stages.py's docstring):
ending after more than a year of silence with nothing planned; acquaintance while not two-way,
under 4 personal interactions or first met under 30 days ago; deterioration when overdue or
falling off; build-up when new and growing; else continuation. Each edge on both sides."""

from __future__ import annotations

from datetime import timedelta

from kith.analysis.model import Mail, Meeting
from kith.analysis.stages import stage
from tests.analysis.rules.build import CFG, NOW, SECOND, at, contact, mail_in, mail_out, meeting

DAY = timedelta(days=1)


def steady(last: float, n: int = 8, gap: float = 10, first_kind: str = "i") -> list[Mail | Meeting]:
    """``n`` alternating personal messages every ``gap`` days, the last ``last`` days ago."""
    out: list[Mail | Meeting] = []
    for k in range(n):
        days = last + gap * (n - 1 - k)
        inbound = (k % 2 == 0) == (first_kind == "i")
        out.append(mail_in(f"m{k}", days) if inbound else mail_out(f"m{k}", days))
    return out


def test_no_personal_interaction_is_an_acquaintance() -> None:
    name, ev = stage(contact(Mail("n", at(5), True, False)), CFG, NOW)
    assert (name, ev["why"], ev["personal_interactions"]) == ("acquaintance", "no personal interaction yet", 0)


def test_ending_is_more_than_a_year_of_silence() -> None:
    items = steady(365)
    assert stage(contact(*items), CFG, NOW)[0] != "ending"
    items[-1].time -= SECOND
    name, ev = stage(contact(*items), CFG, NOW)
    assert (name, ev["why"]) == ("ending", "no personal interaction for more than a year")
    assert ev["last"] == items[-1].time.isoformat() and ev["first"] == items[0].time.isoformat()
    # a meeting planned ahead says it is not over
    assert stage(contact(*items, meeting("next", -3)), CFG, NOW)[0] != "ending"


def test_acquaintance_until_two_way_four_times_and_30_days() -> None:
    only_them = [mail_in(f"m{k}", 40 - k) for k in range(6)]
    assert stage(contact(*only_them), CFG, NOW)[0] == "acquaintance"
    assert stage(contact(*only_them), CFG, NOW)[1]["why"] == "not (yet) a two-way relationship"
    only_me = [mail_out(f"m{k}", 40 - k) for k in range(6)]
    assert stage(contact(*only_me), CFG, NOW)[0] == "acquaintance"
    meetings = [meeting(f"e{k}", 40 - k) for k in range(6)]
    assert stage(contact(*meetings), CFG, NOW)[0] != "acquaintance"
    assert stage(contact(*steady(1, n=3, gap=15)), CFG, NOW)[0] == "acquaintance"  # 3 interactions
    assert stage(contact(*steady(1, n=4, gap=15)), CFG, NOW)[0] != "acquaintance"  # 4
    # first met exactly 30 days ago: no longer new to each other; a second later it was
    young = steady(1, n=4, gap=29 / 3)
    young[0].time = at(30)
    assert stage(contact(*young), CFG, NOW)[0] != "acquaintance"
    young[0].time += SECOND
    assert stage(contact(*young), CFG, NOW)[0] == "acquaintance"


def test_overdue_is_deterioration_unless_a_meeting_is_planned() -> None:
    items = steady(40)  # cadence 10 days: overdue after 15
    name, ev = stage(contact(*items), CFG, NOW)
    assert (name, ev["why"]) == ("deterioration", "overdue by their usual cadence")
    assert stage(contact(*items, meeting("next", -3)), CFG, NOW)[0] != "deterioration"


def test_falling_off_is_deterioration() -> None:
    # 4 interactions 90–180 days ago, 1 in the last 90 (under half), silent longer than usual
    before = [mail_in("a", 170), mail_out("b", 150), mail_in("c", 130), mail_out("d", 100)]
    base = [mail_in(f"o{k}", 400 + 20 * k) for k in range(4)]  # old, so the contact is not new
    last = mail_in("e", 25)  # longer than the usual 20-day gap, not yet overdue (30)
    name, ev = stage(contact(*base, *before, last), CFG, NOW)
    assert (ev["last_90_days"], ev["previous_90_days"]) == (1, 4)
    assert (name, ev["why"]) == ("deterioration", "far fewer interactions lately than before")
    # one lately against three before is under half (a factor other than 2 would miss it)
    three = before[:3]
    name, ev = stage(contact(*base, *three, last), CFG, NOW)
    assert (ev["last_90_days"], ev["previous_90_days"], name) == (1, 3, "deterioration")
    # two lately against four before is half, not under it (the last still longer ago than the
    # usual 20-day gap and not overdue, so only the halving decides)
    name, ev = stage(contact(*base, *before, mail_out("f", 60), last), CFG, NOW)
    assert (ev["last_90_days"], ev["previous_90_days"], name) == (2, 4, "continuation")


def test_falling_off_waits_for_longer_than_the_usual_gap() -> None:
    # one lately against four before, the gaps' median is 20 days: silent exactly 20 days is not
    # longer than usual, a second more is
    before = [mail_in("a", 170), mail_out("b", 150), mail_in("c", 130), mail_out("d", 100)]
    base = [mail_in(f"o{k}", 400 + 20 * k) for k in range(4)]
    last = mail_in("e", 20)
    assert stage(contact(*base, *before, last), CFG, NOW)[0] == "continuation"
    last.time -= SECOND
    name, ev = stage(contact(*base, *before, last), CFG, NOW)
    assert (name, ev["why"]) == ("deterioration", "far fewer interactions lately than before")


def test_falling_off_needs_two_interactions_before() -> None:
    # none lately: only a reconnect threshold longer than the windows lets the trend decide
    cfg = CFG.model_copy(update={"reconnect_min_gap": 200 * DAY, "reconnect_max_gap": 200 * DAY})
    base = [mail_in(f"o{k}", 400 + 20 * k) for k in range(4)]
    name, ev = stage(contact(*base, mail_in("a", 170), mail_out("b", 150)), cfg, NOW)
    assert (ev["last_90_days"], ev["previous_90_days"]) == (0, 2)
    assert (name, ev["why"]) == ("deterioration", "far fewer interactions lately than before")
    name, ev = stage(contact(*base, mail_out("b", 150)), cfg, NOW)
    assert (ev["last_90_days"], ev["previous_90_days"], name) == (0, 1, "continuation")


def test_overdue_is_longer_than_the_threshold_not_equal_to_it() -> None:
    items = steady(15)  # cadence 10 days: the threshold is max(14, 15) = 15 days
    assert stage(contact(*items), CFG, NOW)[0] == "build-up"
    items[-1].time -= SECOND
    name, ev = stage(contact(*items), CFG, NOW)
    assert (name, ev["why"]) == ("deterioration", "overdue by their usual cadence")


def test_new_and_growing_is_build_up_old_and_steady_is_continuation() -> None:
    name, ev = stage(contact(*steady(2, n=8, gap=10)), CFG, NOW)  # first met 72 days ago
    assert (name, ev["why"]) == ("build-up", "a new relationship, growing")
    name, ev = stage(contact(*steady(2, n=30, gap=10)), CFG, NOW)  # first met 292 days ago
    assert (name, ev["why"]) == ("continuation", "steady two-way contact")
    assert ev["two_way"] is True and ev["personal_interactions"] == 30 and ev["meeting_ahead"] is False


def test_build_up_is_first_met_under_180_days_ago() -> None:
    items = steady(2, n=10, gap=10)
    items[0].time = at(180)  # exactly 180 days: no longer new
    assert stage(contact(*items), CFG, NOW)[0] == "continuation"
    items[0].time += SECOND
    assert stage(contact(*items), CFG, NOW)[0] == "build-up"


def test_build_up_is_at_least_as_active_lately_as_before() -> None:
    items = steady(15, n=8, gap=20)  # four in the last 90 days, four in the 90 before
    name, ev = stage(contact(*items), CFG, NOW)
    assert (ev["last_90_days"], ev["previous_90_days"], name) == (4, 4, "build-up")
    fewer = [i for i in items if i.time != at(75)]
    name, ev = stage(contact(*fewer), CFG, NOW)
    assert (ev["last_90_days"], ev["previous_90_days"], name) == (3, 4, "continuation")
