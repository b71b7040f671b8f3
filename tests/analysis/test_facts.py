"""A fact's row and its hand-over form follow its fields, so neither can drift from the table."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from kith.analysis.contacts import mail_of
from kith.analysis.facts import FACT_COLUMNS, Fact
from kith.analysis.model import Mail
from kith.config.models import AnalysisConfig
from kith.store.derived import MailFact


def _fact() -> Fact:
    return Fact(
        "<k@x>", "<k@x>", datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), "a@x", "Hi", "hi", True, False, None,
        3, True, True, False, True, False, "<t@x>", True, ["<k@x>", "<t@x>"],
    )  # fmt: skip


def test_the_columns_are_the_fields_in_order() -> None:
    fields = [f.name for f in dataclasses.fields(Fact)]
    assert fields[-1] == "nodes"
    assert ["message_key", *fields[1:-1]] == list(FACT_COLUMNS)
    assert set(FACT_COLUMNS) == {c.name for c in MailFact.__table__.columns}


def test_a_fact_comes_back_from_its_state() -> None:
    f = _fact()
    assert Fact.from_state(f.state()) == f
    assert dict(zip(FACT_COLUMNS, f.values(), strict=True))["broadcast"] is True


def test_a_mail_made_from_a_fact_has_each_field_from_its_namesake() -> None:
    """``mail_of`` passes the fields by position (keywords cost three times as much): each must
    land in its own field. The fact carries a distinct marker in each field it passes through."""
    at = datetime(2026, 1, 2, tzinfo=UTC)
    f = Fact(
        "KEY", "MESSAGE_ID", at, "a@x", "SUBJECT", "subject", True, "AUTOMATED", "AUTOMATED_WHY",
        3, "ANSWERED", True, "FUTURE", "TO_ME", "CC_ME", "THREAD", False, [],
    )  # fmt: skip
    m = mail_of(f, inbound=True, cfg=AnalysisConfig(), name="NAME")
    by_name = {
        "key": "KEY", "time": at, "inbound": True, "personal": False, "broadcast": False,
        "automated": "AUTOMATED", "answered": "ANSWERED", "thread": "THREAD", "to_me": "TO_ME",
        "cc_me": "CC_ME", "message_id": "MESSAGE_ID", "subject": "SUBJECT", "future": "FUTURE",
        "automated_why": "AUTOMATED_WHY", "name": "NAME",
    }  # fmt: skip
    assert {n.name: getattr(m, n.name) for n in dataclasses.fields(Mail)} == by_name
    # the two computed flags, each True once, so they cannot trade places unseen
    personal = mail_of(dataclasses.replace(f, automated=False, broadcast=False), inbound=True, cfg=AnalysisConfig())
    assert (personal.personal, personal.broadcast) == (True, False)
    broadcast = mail_of(dataclasses.replace(f, broadcast=True), inbound=False, cfg=AnalysisConfig())
    assert (broadcast.personal, broadcast.broadcast) == (False, True)
