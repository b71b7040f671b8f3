"""The same correspondents looked at as time passes (issue 23): who becomes overdue when.

DESIGN "Conversation and cadence": a conversation is a run of personal interactions with no gap
over 2 days, and the cadence is the median gap between the starts of conversations; reconnect
fires when the silence since the last personal interaction exceeds max(14 days, 1.5 × cadence),
capped at 60 days. Someone who writes in bursts (four messages in an afternoon every six weeks)
has a six-week rhythm, not an hourly one: before this was fixed the rule took the median gap
between *messages* (hours), so every bursty correspondent was "overdue" 14 days after a burst.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from kith.analysis.model import Mail
from kith.analysis.rules.reconnect import reconnect
from kith.analysis.stages import stage
from tests.analysis.rules.build import CFG, NOW, contact, mail_in, mail_out

HOUR = 1 / 24


def bursty(silence: float, every: float = 42, bursts: int = 8) -> list[Mail]:
    """Four messages within three hours (them, me, them, me) every ``every`` days, the last burst
    ending ``silence`` days before NOW."""
    out: list[Mail] = []
    for b in range(bursts):
        start = silence + every * (bursts - 1 - b) + 3 * HOUR
        for k in range(4):
            make = mail_in if k % 2 == 0 else mail_out
            out.append(make(f"b{b}m{k}", start - k * HOUR))
    return out


def steady(silence: float, every: float = 10, n: int = 12) -> list[Mail]:
    """One message every ``every`` days, alternating directions, the last ``silence`` days ago."""
    return [(mail_in if k % 2 == 0 else mail_out)(f"s{k}", silence + every * (n - 1 - k)) for k in range(n)]


RHYTHMS: dict[str, tuple[Callable[[float], list[Mail]], float]] = {
    # name: (correspondent with the last conversation `silence` days ago, first overdue day)
    "six-week bursts": (bursty, 60.0),  # 1.5 × 42 = 63, capped at 60
    "ten-day steady": (steady, 15.0),  # 1.5 × 10
    "three-day bursts": (lambda s: bursty(s, every=3, bursts=30), 14.0),  # the 14-day floor
}


@pytest.mark.parametrize("name", sorted(RHYTHMS))
@pytest.mark.parametrize("later", [0, 7, 14, 16, 30, 60, 61])
def test_overdue_exactly_when_the_rhythm_says(name: str, later: float) -> None:
    make, overdue_after = RHYTHMS[name]
    found = reconnect(contact(*make(later)), CFG, NOW)
    assert bool(found) == (later > overdue_after), (name, later, found)
    if found:
        # the evidence speaks the same number, in days
        cadence = found[0].evidence["cadence_days"]
        assert cadence == {"six-week bursts": 42.0, "ten-day steady": 10.0, "three-day bursts": 3.0}[name]


@pytest.mark.parametrize("later", [0, 7, 13.9])
def test_nobody_is_overdue_before_fourteen_days(later: float) -> None:
    for make, _ in RHYTHMS.values():
        assert reconnect(contact(*make(later)), CFG, NOW) == []


@pytest.mark.parametrize("later", [14, 16, 30])
def test_the_stage_calls_overdue_what_the_rule_does(later: float) -> None:
    """The stage's "overdue" is the rule's threshold, not a second reading of the rhythm."""
    for make, overdue_after in RHYTHMS.values():
        items = make(later)
        _, ev = stage(contact(*items), CFG, NOW)
        assert (ev["why"] == "overdue by their usual cadence") == (later > overdue_after), (later, ev)
