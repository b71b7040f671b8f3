"""Mail merges: the sliding window against the definition, window by window."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from kith.analysis.broadcasts import Outbound, mail_merges
from kith.config.models import AnalysisConfig

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def by_definition(messages: list[Outbound], cfg: AnalysisConfig) -> set[str]:
    """DESIGN's rule read literally: each message opens a window of ``merge_window``; a window
    with enough messages to enough different people makes every message in it part of a merge."""
    counted = [m for m in messages if not m.automated and m.recipients]
    found: set[str] = set()
    for m in counted:
        window = [
            x
            for x in counted
            if x.subject_norm == m.subject_norm
            and (x.time, x.key) >= (m.time, m.key)
            and x.time < m.time + cfg.merge_window
        ]
        people = set().union(*(x.recipients for x in window))
        if len(window) >= cfg.merge_min_messages and len(people) >= cfg.merge_min_messages:
            found.update(x.key for x in window)
    return found


def random_case(seed: int) -> tuple[list[Outbound], AnalysisConfig]:
    """Bursts and gaps, equal times (the key breaks the tie), few people or many."""
    rng = random.Random(seed)
    cfg = AnalysisConfig(merge_min_messages=rng.choice([2, 3, 5]), merge_window=timedelta(hours=rng.choice([1, 24])))
    people = [f"p{i}@example.com" for i in range(rng.choice([2, 3, 4, 6, 40]))]
    messages = [
        Outbound(
            key=f"<{i}@me>",
            time=T0 + timedelta(minutes=rng.choice([0, 5, 30, 90, 600, 3000]) * rng.randrange(12)),
            subject_norm=rng.choice(["offer", "newsletter", "hello"]),
            recipients=frozenset(rng.sample(people, min(len(people), rng.choice([0, 1, 1, 1, 2, 4])))),
            automated=rng.random() < 0.05,
        )
        for i in range(rng.randrange(1, 80))
    ]
    return messages, cfg


@pytest.mark.parametrize("seed", range(100))
def test_sliding_window_finds_what_the_definition_finds(seed: int) -> None:
    messages, cfg = random_case(seed)
    assert mail_merges(messages, cfg) == by_definition(messages, cfg)


def test_the_random_cases_hold_both_verdicts() -> None:
    """The cases above are worth something only if some make merges and some do not."""
    assert {bool(by_definition(*random_case(seed))) for seed in range(100)} == {True, False}


def test_one_person_many_times_is_not_a_merge() -> None:
    cfg = AnalysisConfig()
    same = [Outbound(f"<{i}@me>", T0 + timedelta(minutes=i), "offer", frozenset({"ann@example.com"})) for i in range(9)]
    assert mail_merges(same, cfg) == set()
    spread = [
        Outbound(f"<{i}@me>", T0 + timedelta(minutes=i), "offer", frozenset({f"p{i}@example.com"})) for i in range(5)
    ]
    assert mail_merges(same + spread, cfg) == {m.key for m in same + spread}
