"""Broadcast-only, from DESIGN.md: in the last 180 days received ≥ 3 messages from me, every one a
broadcast, with no personal message and no meeting."""

from __future__ import annotations

from kith.analysis.model import Mail
from kith.analysis.rules.broadcast_only import broadcast_only
from tests.analysis.rules.build import ANN, CFG, NOW, SECOND, at, contact, iso, mail_in, mail_out, meeting


def blast(key: str, days: float, subject: str = "News") -> Mail:
    """One of my broadcasts (not personal) to this contact."""
    return Mail(key, at(days), False, False, broadcast=True, subject=subject)


def test_three_broadcasts_and_nothing_else_is_broadcast_only() -> None:
    [f] = broadcast_only(contact(blast("a", 90, "Q1"), blast("b", 60, "Q2"), blast("c", 30, "Q3")), CFG, NOW)
    assert f.kind == "broadcast_only"
    assert f.key == f"broadcast_only:{ANN}"
    assert f.since == at(90)
    assert f.mark == "3:c"
    assert f.evidence == {"broadcasts": 3, "first": iso(90), "last": iso(30), "subjects": ["Q1", "Q2", "Q3"]}


def test_two_broadcasts_are_not_enough() -> None:
    assert broadcast_only(contact(blast("a", 90), blast("b", 60)), CFG, NOW) == []


def test_the_window_is_180_days_back_from_now_inclusive() -> None:
    assert broadcast_only(contact(blast("a", 180), blast("b", 60), blast("c", 30)), CFG, NOW)
    old = blast("a", 180)
    old.time -= SECOND
    assert broadcast_only(contact(old, blast("b", 60), blast("c", 30)), CFG, NOW) == []


def test_mail_not_sent_yet_is_not_counted() -> None:
    assert broadcast_only(contact(blast("a", 60), blast("b", 30), blast("c", -1)), CFG, NOW) == []
    [f] = broadcast_only(contact(blast("a", 60), blast("b", 30), blast("c", 0)), CFG, NOW)
    assert f.evidence["broadcasts"] == 3


def test_one_message_of_mine_that_is_not_a_broadcast_clears_it() -> None:
    other = Mail("x", at(45), False, False)  # neither personal nor a broadcast
    assert broadcast_only(contact(blast("a", 90), other, blast("b", 60), blast("c", 30)), CFG, NOW) == []


def test_a_personal_message_either_way_or_a_meeting_clears_it() -> None:
    blasts = (blast("a", 90), blast("b", 60), blast("c", 30))
    assert broadcast_only(contact(*blasts, mail_in("x", 20)), CFG, NOW) == []
    assert broadcast_only(contact(*blasts, meeting("m", 20)), CFG, NOW) == []
    # a meeting that does not count (declined, too big) clears nothing
    assert broadcast_only(contact(*blasts, meeting("m", 20, counts=False)), CFG, NOW)
    personal_out = mail_out("p", 20)
    personal_out.broadcast = True  # cannot be both, but a personal one is never "only broadcast"
    assert broadcast_only(contact(*blasts, personal_out), CFG, NOW) == []


def test_the_evidence_shows_the_last_three_subjects_oldest_first() -> None:
    found = broadcast_only(
        contact(blast("d", 10, "S4"), blast("a", 120, "S1"), blast("c", 40, "S3"), blast("b", 80, "S2")), CFG, NOW
    )
    [f] = found
    assert f.evidence["subjects"] == ["S2", "S3", "S4"]
    assert f.evidence["first"] == iso(120)
    assert f.evidence["last"] == iso(10)
    assert f.mark == "4:d"
