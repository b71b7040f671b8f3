"""The stored IMAP cursor (DESIGN: opaque JSON owned by the connector; UIDVALIDITY + HIGHESTMODSEQ
+ last UID). What is stored must read back as it was; what another version of kith stored, or a
damaged value, must mean "resync this folder" (``CursorExpired``), never a wrong position."""

from __future__ import annotations

from typing import Any

import pytest

from kith.connectors.imap.cursor import VERSION, Cursor
from kith.errors import CursorExpired


def test_the_stored_form_names_its_version_and_only_what_is_known() -> None:
    assert VERSION == 1
    assert Cursor(uidvalidity=7).to_json() == {"uidvalidity": 7, "last_uid": 0, "v": 1}
    full = Cursor(uidvalidity=7, last_uid=42, uidnext=43, exists=40, modseq=900, full=100, flags_hash="ab")
    assert full.to_json() == {
        "uidvalidity": 7,
        "last_uid": 42,
        "uidnext": 43,
        "exists": 40,
        "modseq": 900,
        "full": 100,
        "flags_hash": "ab",
        "v": 1,
    }


def test_what_is_stored_reads_back_as_it_was() -> None:
    for c in (
        Cursor(uidvalidity=7),
        Cursor(uidvalidity=1, last_uid=5, modseq=0, exists=0),
        Cursor(uidvalidity=7, last_uid=42, uidnext=43, exists=40, modseq=900, full=100, flags_hash="ab"),
    ):
        assert Cursor.from_json(c.to_json()) == c


def test_no_stored_cursor_is_a_first_sync() -> None:
    assert Cursor.from_json(None) is None


def test_a_cursor_without_last_uid_starts_at_zero() -> None:
    c = Cursor.from_json({"uidvalidity": 7, "v": 1})
    assert c == Cursor(uidvalidity=7, last_uid=0)
    assert c is not None and (c.uidnext, c.exists, c.modseq, c.full, c.flags_hash) == (None,) * 5


def test_numbers_stored_as_text_are_read_as_numbers() -> None:
    c = Cursor.from_json({"uidvalidity": "7", "last_uid": "9", "uidnext": "10", "modseq": "11", "v": 1})
    assert c == Cursor(uidvalidity=7, last_uid=9, uidnext=10, modseq=11)


@pytest.mark.parametrize(
    "stored",
    [
        {"uidvalidity": 7, "last_uid": 3},  # before versions
        {"uidvalidity": 7, "last_uid": 3, "v": 0},
        {"uidvalidity": 7, "last_uid": 3, "v": 2},
        {"uidvalidity": 7, "last_uid": 3, "v": "1"},
        {"last_uid": 3, "v": 1},
        {"uidvalidity": None, "v": 1},
        {"uidvalidity": "seven", "v": 1},
        {"uidvalidity": 7, "last_uid": [], "v": 1},
        {"uidvalidity": 7, "modseq": "x", "v": 1},
        {"uidvalidity": 7, "uidnext": {}, "v": 1},
        {"uidvalidity": 7, "exists": "many", "v": 1},
        {"uidvalidity": 7, "full": "x", "v": 1},
    ],
)
def test_another_version_or_a_damaged_cursor_means_resync(stored: dict[str, Any]) -> None:
    with pytest.raises(CursorExpired):
        Cursor.from_json(stored)


def test_but_changes_only_what_it_is_told() -> None:
    c = Cursor(uidvalidity=7, last_uid=42, modseq=900)
    assert c.but(last_uid=50) == Cursor(uidvalidity=7, last_uid=50, modseq=900)
    assert c == Cursor(uidvalidity=7, last_uid=42, modseq=900)


def test_a_cursor_cannot_be_changed_in_place() -> None:
    """A batch carries its cursor until the store saves it with the batch: nothing may move it
    in between (``but`` makes a new one)."""
    c = Cursor(uidvalidity=7, last_uid=42)
    with pytest.raises(AttributeError):
        c.last_uid = 50  # type: ignore[misc]
    assert c.last_uid == 42
