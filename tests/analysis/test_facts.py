"""A fact's row and its hand-over form follow its fields, so neither can drift from the table."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from kith.analysis.facts import FACT_COLUMNS, Fact
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
