"""The timeline's shortcuts (bisection, personal points made straight from the mail) against the
definitions written out, on random contacts with ties, future mail and uncounted meetings."""

from __future__ import annotations

import itertools
import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from kith.analysis.model import ContactData, Mail, Meeting
from kith.analysis.rules.reconnect import recent_cadence
from kith.analysis.stages import stage
from kith.analysis.stats import contact_stats, strength
from kith.analysis.timeline import after, personal_until, since
from kith.config.models import AnalysisConfig

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
ORDER = {"in": 0, "meeting": 1, "out": 2}


def _contact(seed: int) -> ContactData:
    r = random.Random(seed)

    def when() -> datetime:  # whole days and a few hours: many ties, some ahead of now
        return NOW - timedelta(days=r.randint(-10, 400), hours=r.choice([0, 0, 6]))

    mails = [Mail(f"k{i}", when(), r.random() < 0.5, r.random() < 0.6) for i in range(r.randint(0, 30))]
    mails.sort(key=lambda m: (m.time, m.key))
    meetings = [Meeting(f"e{i}", when(), r.random() < 0.7) for i in range(r.randint(0, 5))]
    return ContactData(address="ann@client.example", mails=mails, meetings=meetings)


@pytest.mark.parametrize("seed", range(200))
def test_personal_points_and_windows_match_their_definitions(seed: int) -> None:
    d = _contact(seed)
    expected = sorted(
        [("in" if m.inbound else "out", m.time, m.key) for m in d.mails if m.personal and m.time <= NOW]
        + [("meeting", mt.time, mt.key) for mt in d.meetings if mt.counts and mt.time <= NOW],
        key=lambda x: (x[1], ORDER[x[0]], x[2]),
    )
    personal = personal_until(d, NOW)
    assert [(p.kind, p.time, p.key) for p in personal] == expected
    for days in (0, 90, 180, 365):
        cut = NOW - timedelta(days=days)
        assert since(personal, cut) == [p for p in personal if p.time >= cut]
        assert after(personal, cut) == [p for p in personal if p.time > cut]


@pytest.mark.parametrize("seed", range(200))
def test_first_seen_last_interaction_and_meetings_match_their_definitions(seed: int) -> None:
    d = _contact(seed)
    held = [mt.time for mt in d.meetings if mt.counts and mt.time <= NOW]
    every = [m.time for m in d.mails] + held
    personal = [m.time for m in d.mails if m.personal and m.time <= NOW] + held
    stats = contact_stats(d, NOW)
    assert stats["meetings"] == len(held)
    assert stats["first_seen"] == min(every, default=None)
    assert stats["last_interaction"] == max(personal or [t for t in every if t <= NOW], default=None)


@pytest.mark.parametrize("seed", range(200))
def test_the_windows_of_strength_stage_and_cadence_match_their_definitions(seed: int) -> None:
    d, cfg = _contact(seed), AnalysisConfig()
    personal = personal_until(d, NOW)
    times = [p.time for p in personal]
    _, ev = stage(d, cfg, NOW)
    assert ev["last_90_days"] == sum(1 for t in times if t > NOW - timedelta(days=90))
    assert ev["previous_90_days"] == sum(1 for t in times if NOW - timedelta(days=180) < t <= NOW - timedelta(days=90))
    year = [p for p in personal if p.time >= NOW - cfg.reconnect_year]
    # DESIGN: a conversation is a run with no gap over 2 days; the cadence is the median gap
    # between the starts of conversations in the last 12 months
    starts = [p.time for k, p in enumerate(year) if k == 0 or p.time - year[k - 1].time > timedelta(days=2)]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    # DESIGN: max(14 days, 1.5 × cadence), never more than 60 days (written out here, not
    # the rule's own ``threshold``: an expectation computed with the code under test proves nothing)
    days = sorted(g.total_seconds() / 86400 for g in gaps)
    middle = len(days) // 2
    cadence = (days[middle] if len(days) % 2 else (days[middle - 1] + days[middle]) / 2) if days else 0.0
    limit = timedelta(days=min(max(14.0, 1.5 * cadence), 60.0))
    found_year, found_gaps, found_limit = recent_cadence(d, cfg, NOW)
    assert (found_year, found_gaps) == (year, gaps)
    assert abs(found_limit - limit) < timedelta(milliseconds=1)
    # strength written out with a scan a window
    if personal:
        n90 = sum(1 for p in personal if p.time >= NOW - timedelta(days=90))
        last_year = [p for p in personal if p.time >= NOW - timedelta(days=365)]
        n_in = sum(1 for p in last_year if p.kind == "in")
        n_out = sum(1 for p in last_year if p.kind == "out")
        n_meet = sum(1 for p in personal if p.kind == "meeting" and p.time >= NOW - timedelta(days=180))
        days = (NOW - personal[-1].time).total_seconds() / 86400
        expected = round(
            35 * 0.5 ** (days / 30)
            + 30 * min(1.0, math.log2(1 + n90) / math.log2(25))
            + (20 * min(n_in, n_out) / max(n_in, n_out) if max(n_in, n_out) else 0.0)
            + 15 * min(1.0, n_meet / 6)
        )
        assert strength(personal, NOW) == expected
