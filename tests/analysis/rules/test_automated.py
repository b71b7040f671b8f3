"""Automated contact, from DESIGN.md: one whose mail is ≥ 90 % automated and to whom I never wrote
personally. Someone who never wrote to me is not automated."""

from __future__ import annotations

from kith.analysis.model import ContactData, Mail
from kith.analysis.rules.automated import automated_contact
from tests.analysis.rules.build import CFG, at, contact, mail_out


def received(n: int, automated: int, why: str | None = "List-Id") -> list[Mail]:
    """``n`` messages to me, the first ``automated`` of them automated."""
    return [
        Mail(
            f"m{i}",
            at(i + 1),
            True,
            i >= automated,
            automated=i < automated,
            automated_why=why if i < automated else None,
        )
        for i in range(n)
    ]


def test_exactly_90_percent_automated_is_automated() -> None:
    auto, why = automated_contact(contact(*received(10, 9)), CFG)
    assert auto
    assert why == {"automated_share": 0.9, "messages": 10, "signals": {"List-Id": 9}}


def test_below_90_percent_is_not() -> None:
    assert automated_contact(contact(*received(10, 8)), CFG) == (False, None)
    assert automated_contact(contact(*received(20, 17)), CFG) == (False, None)  # 85 %
    assert automated_contact(contact(*received(20, 18)), CFG)[0]  # 90 %


def test_all_automated_shows_share_one() -> None:
    auto, why = automated_contact(contact(*received(3, 3)), CFG)
    assert auto and why is not None
    assert why["automated_share"] == 1.0
    assert why["messages"] == 3


def test_the_share_is_rounded_to_three_decimals() -> None:
    auto, why = automated_contact(contact(*received(21, 19)), CFG)  # 0.90476…
    assert auto and why is not None
    assert why["automated_share"] == 0.905


def test_a_personal_word_from_me_makes_them_a_person() -> None:
    assert automated_contact(contact(*received(10, 10), mail_out("me", 5)), CFG) == (False, None)
    # my own non-personal mail (a broadcast) does not
    assert automated_contact(contact(*received(10, 10), Mail("b", at(5), False, False, broadcast=True)), CFG)[0]


def test_only_what_they_sent_me_is_counted() -> None:
    # 9 automated of 10 received; my 5 non-personal messages to them do not change the share
    mine = [Mail(f"o{i}", at(i), False, False) for i in range(5)]
    auto, why = automated_contact(contact(*received(10, 9), *mine), CFG)
    assert auto and why is not None
    assert why["messages"] == 10


def test_someone_who_never_wrote_to_me_is_not_automated() -> None:
    assert automated_contact(ContactData(address="x@example.com"), CFG) == (False, None)
    mine = [Mail("o", at(1), False, False)]
    assert automated_contact(contact(*mine), CFG) == (False, None)


def test_the_three_most_common_signals_are_the_reason() -> None:
    mails = [
        *received(4, 4, "List-Id"),
        *received(3, 3, "Precedence: bulk"),
        *received(2, 2, "empty Return-Path"),
        *received(1, 1, "no-reply sender noreply"),
        *received(1, 1, None),
    ]
    auto, why = automated_contact(contact(*mails), CFG)
    assert auto and why is not None
    assert why["signals"] == {"List-Id": 4, "Precedence: bulk": 3, "empty Return-Path": 2}
    _, why = automated_contact(contact(*received(2, 2, None)), CFG)
    assert why is not None and why["signals"] == {"automated": 2}
