"""The one sanitizer at the connector boundary, field by field: whatever a connector fills in,
no NUL, lone surrogate or control character reaches the store (and new fields are covered too:
the fields are found by introspection, not listed here)."""

from __future__ import annotations

import dataclasses
import re
import typing
from datetime import UTC, datetime, timedelta

import pytest

from kith.connectors.base import Address, Attendee, Batch, EventRecord, FlagUpdate, MessageRecord, Problem
from kith.connectors.sanitize import sanitize_batch, sanitize_record

BAD = "a\x00b\ud800c\x1b]52;c;x\x07d\x9be\r\nf"
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def dirty_value(hint: object) -> object:
    """A value full of what must go, for a field typed ``hint`` (None when it holds no text)."""
    text = str(hint)
    if "Address" in text and "tuple" in text:
        return (Address("x@y" + BAD, BAD),)
    if "Attendee" in text:
        return (Attendee("x@y" + BAD, BAD, BAD, BAD),)
    if "Address" in text:
        return Address("x@y" + BAD, BAD)
    if "frozenset" in text:
        return frozenset({BAD})
    if "tuple[str" in text:
        return (BAD,)
    if text.startswith("str") or text in ("str | None", "<class 'str'>"):
        return BAD
    return None


def texts(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Address | Attendee):
        return [t for f in dataclasses.fields(value) for t in texts(getattr(value, f.name))]
    if isinstance(value, tuple | frozenset):
        return [t for v in value for t in texts(v)]
    return []


@pytest.mark.parametrize("cls", [MessageRecord, EventRecord])
def test_every_text_field_is_cleaned_and_named(cls: type) -> None:
    hints = typing.get_type_hints(cls)
    base = (
        MessageRecord("k", "<id@x>", NOW - timedelta(days=1))
        if cls is MessageRecord
        else EventRecord("k", "uid", NOW - timedelta(days=1))
    )
    for f in dataclasses.fields(cls):
        if f.name in ("provider_key", "problems"):
            continue
        value = dirty_value(hints[f.name])
        if value is None:
            continue
        rec = dataclasses.replace(base, **{f.name: value})
        clean = sanitize_record(rec, NOW)
        assert not any(UNSAFE.search(t) for t in texts(getattr(clean, f.name))), f.name
        assert f"{f.name}: control characters or lone surrogates removed" in clean.problems, f.name


def test_clean_records_and_batches_pass_as_they_are() -> None:
    rec = MessageRecord("k", "<id@x>", NOW, subject="Zoë\u00a0Müller 🙂", from_=Address("a@x", "Ann"))
    batch = Batch(upserts=(rec,), deletions=("d",), problems=(Problem("p", "why"),), cursor={"n": 1})
    assert sanitize_batch(batch, NOW) is batch


def test_untrusted_dates_are_named_not_changed() -> None:
    cases = {
        datetime(1969, 12, 31, tzinfo=UTC): "before 1970",
        datetime(9999, 12, 31, tzinfo=UTC): "in the future",
        NOW + timedelta(days=2): "in the future",
    }
    for date, words in cases.items():
        out = sanitize_record(MessageRecord("k", "<id@x>", date), NOW)
        assert out.date == date and any(words in p for p in out.problems), date
    late = sanitize_record(MessageRecord("k", "<id@x>", NOW - timedelta(days=1), received=NOW - timedelta(days=3)), NOW)
    assert any("after the arrival time" in p for p in late.problems)
    fine = MessageRecord("k", "<id@x>", NOW + timedelta(hours=23))  # a day of clock skew is allowed
    assert sanitize_record(fine, NOW) is fine


def test_a_key_that_is_not_text_becomes_a_problem_and_keys_are_never_rewritten() -> None:
    bad_key = "file\udc80name"
    batch = Batch(
        upserts=(MessageRecord(bad_key, "<a@x>", NOW), MessageRecord("good", "<b@x>", NOW, subject="x\x00")),
        flag_updates=(FlagUpdate(bad_key, frozenset({"\\Seen"})), FlagUpdate("good", frozenset({"\\Seen\x00"}))),
        deletions=(bad_key,),
    )
    out = sanitize_batch(batch, NOW)
    assert [r.provider_key for r in out.upserts] == ["good"] and out.upserts[0].subject == "x"
    assert [p.provider_key for p in out.problems] == ["file\\udc80name"]
    assert [f.provider_key for f in out.flag_updates] == ["good"] and out.flag_updates[0].flags == frozenset({"\\Seen"})
    assert out.deletions == ("file\\udc80name",)
