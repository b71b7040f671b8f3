"""Levinger's stages (DESIGN "Stage"; the order and edges are analysis/stages.py's docstring):
ending after more than a year of silence with nothing planned; acquaintance while not two-way,
under 4 personal interactions or first met under 30 days ago; deterioration when overdue or
falling off; build-up when new and growing; else continuation. Each edge on both sides."""

from __future__ import annotations

from kith.analysis.model import Mail, Meeting
from kith.analysis.stages import stage
from tests.analysis.rules.build import CFG, NOW, SECOND, at, contact, mail_in, mail_out, meeting


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
    # two lately against four before is half, not under it
    assert stage(contact(*base, *before, mail_out("f", 20), last), CFG, NOW)[0] != "deterioration"


def test_new_and_growing_is_build_up_old_and_steady_is_continuation() -> None:
    name, ev = stage(contact(*steady(2, n=8, gap=10)), CFG, NOW)  # first met 72 days ago
    assert (name, ev["why"]) == ("build-up", "a new relationship, growing")
    name, ev = stage(contact(*steady(2, n=30, gap=10)), CFG, NOW)  # first met 292 days ago
    assert (name, ev["why"]) == ("continuation", "steady two-way contact")
    assert ev["two_way"] is True and ev["personal_interactions"] == 30 and ev["meeting_ahead"] is False
