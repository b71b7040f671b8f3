"""One-sided (pull back), from DESIGN.md: ≥ 3 consecutive personal outbound messages to a contact
spanning ≥ 14 days, with nothing back from them since the first. A meeting is a two-way
interaction: it is something back, and it is not a message of mine."""

from __future__ import annotations

from datetime import timedelta

from kith.analysis.model import Mail
from kith.analysis.rules.one_sided import one_sided
from tests.analysis.rules.build import ANN, CFG, NOW, SECOND, at, contact, iso, mail_in, mail_out, meeting


def flagged(*items: object) -> bool:
    found = one_sided(contact(*items), CFG, NOW)  # type: ignore[arg-type]
    assert isinstance(found, list)  # no finding is an empty list, as every rule returns
    return bool(found)


def test_three_messages_spanning_exactly_14_days_are_one_sided() -> None:
    [f] = one_sided(contact(mail_out("a", 20), mail_out("b", 13), mail_out("c", 6)), CFG, NOW)
    assert f.kind == "one_sided"
    assert f.key == f"one_sided:{ANN}:a"
    assert f.since == at(20)
    assert f.mark == "3:c"
    assert f.evidence == {"unanswered": 3, "first": iso(20), "last": iso(6), "span_days": 14.0}


def test_a_second_short_of_14_days_is_not() -> None:
    last = mail_out("c", 6)
    last.time -= SECOND  # now 14 days less a second after the first
    assert not flagged(mail_out("a", 20), mail_out("b", 13), last)


def test_two_messages_are_not_enough_whatever_the_span() -> None:
    assert not flagged(mail_out("a", 60), mail_out("b", 1))


def test_the_run_starts_after_their_last_word() -> None:
    # their message 25 days ago; my three since span 15 days: the run is mine alone
    [f] = one_sided(contact(mail_in("x", 25), mail_out("a", 20), mail_out("b", 10), mail_out("c", 5)), CFG, NOW)
    assert f.evidence["unanswered"] == 3
    assert f.since == at(20)
    assert f.key == f"one_sided:{ANN}:a"


def test_an_answer_in_the_middle_breaks_the_run() -> None:
    assert not flagged(mail_out("a", 40), mail_out("b", 30), mail_in("x", 25), mail_out("c", 20), mail_out("d", 1))
    # my older messages before their answer do not count towards the new run
    [f] = one_sided(
        contact(mail_out("a", 60), mail_in("x", 50), mail_out("b", 40), mail_out("c", 30), mail_out("d", 20)), CFG, NOW
    )
    assert f.evidence == {"unanswered": 3, "first": iso(40), "last": iso(20), "span_days": 20.0}


def test_a_meeting_is_something_back_not_a_message_of_mine() -> None:
    assert not flagged(mail_out("a", 40), mail_out("b", 30), meeting("met", 25), mail_out("c", 20), mail_out("d", 1))
    # two of mine after a meeting are two, not three
    assert not flagged(meeting("met", 40), mail_out("c", 30), mail_out("d", 1))
    # a meeting that does not count (declined, too big) breaks nothing
    assert flagged(mail_out("a", 40), meeting("met", 35, counts=False), mail_out("b", 30), mail_out("c", 20))


def test_mail_that_is_not_personal_neither_counts_nor_breaks_the_run() -> None:
    news = Mail("n", at(25), True, False)  # a newsletter from them is not an answer
    assert flagged(mail_out("a", 40), news, mail_out("b", 30), mail_out("c", 20))
    blast = Mail("n", at(35), False, False, broadcast=True)
    assert not flagged(blast, mail_out("b", 30), mail_out("c", 1))


def test_messages_after_now_are_not_yet_sent() -> None:
    assert not flagged(mail_out("a", 20), mail_out("b", 10), mail_out("c", -1))


def test_span_days_has_one_decimal() -> None:
    last = mail_out("c", 5)
    last.time = at(20) + timedelta(days=15.0501)  # shown as 15.1 (days of 86400 s, one decimal)
    [f] = one_sided(contact(mail_out("a", 20), mail_out("b", 10), last), CFG, NOW)
    assert f.evidence["span_days"] == 15.1
