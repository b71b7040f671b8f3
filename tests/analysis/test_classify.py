"""Automated mail (DESIGN: List-Id, List-Unsubscribe or List-Post present; Precedence
bulk/list/junk; Auto-Submitted other than ``no``; empty Return-Path; noreply-style or bounce
local parts; provider categories), each signal alone and the reason it gives."""

from __future__ import annotations

import pytest

from kith.analysis.classify import automated_reason


def test_a_person_writing_is_not_automated() -> None:
    assert automated_reason(sender="ann@x.example") is None
    assert automated_reason(sender="ann@x.example", precedence="first-class", auto_submitted="no") is None
    assert automated_reason(sender="ann@x.example", return_path="ann@x.example", labels=("INBOX", "IMPORTANT")) is None
    assert automated_reason(sender=None) is None
    assert automated_reason(sender="noreply") is None  # no local part without an @


@pytest.mark.parametrize(
    ("kw", "why"),
    [
        ({"list_id": "<l.x>"}, "List-Id"),
        ({"list_unsubscribe": "<mailto:u@x>"}, "List-Unsubscribe"),
        ({"list_post": "<mailto:l@x>"}, "List-Post"),
        ({"precedence": "bulk"}, "Precedence: bulk"),
        ({"precedence": " List "}, "Precedence: list"),
        ({"precedence": "JUNK"}, "Precedence: junk"),
        ({"auto_submitted": "auto-replied"}, "Auto-Submitted: auto-replied"),
        ({"auto_submitted": "Auto-Generated; owner-email=x@y"}, "Auto-Submitted: auto-generated"),
        ({"return_path": ""}, "empty Return-Path"),
        ({"return_path": "<>"}, "empty Return-Path"),
        ({"return_path": " < > "}, "empty Return-Path"),
        ({"labels": ("INBOX", "CATEGORY_UPDATES")}, "provider category CATEGORY_UPDATES"),
        ({"labels": ("CATEGORY_SOCIAL", "CATEGORY_FORUMS")}, "provider category CATEGORY_FORUMS"),
        ({"labels": ("CATEGORY_SOCIAL",)}, "provider category CATEGORY_SOCIAL"),
        ({"labels": ("CATEGORY_PROMOTIONS",)}, "provider category CATEGORY_PROMOTIONS"),
    ],
)
def test_each_signal_alone_marks_it_and_says_which(kw: dict[str, object], why: str) -> None:
    assert automated_reason(sender="ann@x.example", **kw) == why  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "local", ["noreply", "no-reply", "NoReply", "noreply2", "donotreply", "do-not-reply", "mailer-daemon", "postmaster",
              "bounce", "bounces+abc", "no-reply.team", "bounces-x"],
)  # fmt: skip
def test_noreply_and_bounce_senders(local: str) -> None:
    assert automated_reason(sender=f"{local}@x.example") == f"no-reply sender {local}"


@pytest.mark.parametrize("local", ["reply", "noreplyteam", "postmasters", "ann.bounce", "norep"])
def test_names_that_only_look_like_it(local: str) -> None:
    assert automated_reason(sender=f"{local}@x.example") is None


def test_auto_submitted_no_and_precedence_other_values_are_a_person() -> None:
    assert automated_reason(sender="a@x.example", auto_submitted=" No ") is None
    assert automated_reason(sender="a@x.example", auto_submitted="no; comment") is None
    assert automated_reason(sender="a@x.example", auto_submitted="") is None
    assert automated_reason(sender="a@x.example", auto_submitted=" ; comment") is None
    # a Return-Path that is not empty, whatever its letters
    assert automated_reason(sender="a@x.example", return_path="<XXX>") is None
    assert automated_reason(sender="a@x.example", precedence="") is None


def test_the_first_signal_in_definition_order_is_the_reason() -> None:
    everything = {
        "list_id": "<l>",
        "list_unsubscribe": "<u>",
        "list_post": "<p>",
        "precedence": "bulk",
        "auto_submitted": "auto-generated",
        "return_path": "",
        "labels": ("CATEGORY_PROMOTIONS",),
    }
    order = ["List-Id", "List-Unsubscribe", "List-Post", "Precedence: bulk", "Auto-Submitted: auto-generated",
             "empty Return-Path", "no-reply sender noreply", "provider category CATEGORY_PROMOTIONS"]  # fmt: skip
    keys = list(everything)
    for n, why in enumerate(order):
        kw = {k: everything[k] for k in keys[n:] if n <= 6 or k == "labels"}
        if n > 6:
            kw = {"labels": everything["labels"]}
        sender = "noreply@x.example" if n <= 6 else "a@x.example"
        assert automated_reason(sender=sender, **kw) == why, why  # type: ignore[arg-type]
