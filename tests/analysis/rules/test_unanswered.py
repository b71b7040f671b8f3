"""The unanswered rule as a pure function: which findings it makes when the stored flags are known."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kith.analysis.evaluate import evaluate
from kith.analysis.model import ContactData, Mail
from kith.analysis.rules.unanswered import unanswered
from kith.config.models import AnalysisConfig

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
CFG = AnalysisConfig()


def _data() -> ContactData:
    """Three messages to me: one answered in its thread, one answered by a message in another
    thread, one waiting."""

    def inbound(key: str, days: int, thread: str) -> Mail:
        return Mail(key, NOW - timedelta(days=days), True, True, thread=thread, to_me=True)

    return ContactData(
        address="ann@client.example",
        mails=[
            inbound("a", 20, "t1"),
            inbound("b", 15, "t2"),
            Mail("r", NOW - timedelta(days=12), False, True, thread="t3"),
            inbound("c", 10, "t4"),
        ],
        my_thread_replies={"t1": [NOW - timedelta(days=19)]},
    )


def test_without_the_stored_flags_every_verdict_is_a_finding() -> None:
    found = {f.key: f.reason for f in unanswered(_data(), CFG, NOW)}
    assert found == {
        "unanswered:a": "answered in the thread on 2026-10-13",
        "unanswered:b": "you wrote to them on 2026-10-20",
        "unanswered:c": None,
    }


def test_a_resolved_finding_is_made_only_for_a_stored_flag() -> None:
    found = {f.key: f.reason for f in unanswered(_data(), CFG, NOW, {"unanswered:b", "unanswered:zz"})}
    # the open one always; of the resolved ones only the one a stored flag could take its reason from
    assert found == {"unanswered:b": "you wrote to them on 2026-10-20", "unanswered:c": None}
    assert [f.key for f in unanswered(_data(), CFG, NOW, set())] == ["unanswered:c"]


def test_evaluate_hands_the_stored_flags_to_the_rule() -> None:
    result = evaluate(_data(), CFG, NOW, {"unanswered:a"})
    assert {f.key: f.reason for f in result.findings if f.kind == "unanswered"} == {
        "unanswered:a": "answered in the thread on 2026-10-13",
        "unanswered:c": None,
    }
