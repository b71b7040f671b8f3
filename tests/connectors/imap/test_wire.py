"""``wire.read_answer`` against imaplib itself, on the same bytes: it must file, return and raise
exactly what imaplib's ``_command_complete`` + ``_untagged_response`` would."""

from __future__ import annotations

import imaplib
import io
import re
from typing import Any

import pytest
from imapclient.response_parser import parse_fetch_response

from kith.connectors.imap.wire import fast_parse, read_answer

TAG = b"KITH7"
HEAD = b"Message-ID: <a@b>\r\nSubject: x\r\n\r\n"
SECTION = b"BODY[HEADER.FIELDS (MESSAGE-ID SUBJECT)]"


def _imap(wire: bytes) -> Any:
    """An imaplib client whose socket is ``wire``, with command ``TAG`` outstanding."""
    imap: Any = object.__new__(imaplib.IMAP4)
    imap.debug = 0
    imap.tagged_commands = {TAG: None}
    imap.untagged_responses = {}
    imap.continuation_response = ""
    imap._cmd_log_len, imap._cmd_log_idx, imap._cmd_log = 10, 0, {}
    imap._mode_ascii()
    imap.tagre = re.compile(rb"(?P<tag>KITH\d+) (?P<type>[A-Z]+) (?P<data>.*)", re.ASCII)
    imap.file = io.BytesIO(wire)
    return imap


def _by_imaplib(wire: bytes) -> tuple[str, list[Any], list[Any], dict[str, Any]]:
    imap = _imap(wire)
    typ, data = imap._command_complete("FETCH", TAG)
    fetches = imap.untagged_responses.pop("FETCH", [])  # as _untagged_response does after OK
    return typ, data, fetches, imap.untagged_responses


def _by_wire(wire: bytes) -> tuple[str, list[Any], list[Any], dict[str, Any]]:
    imap = _imap(wire)
    typ, data, fetches = read_answer(imap, TAG, "FETCH")
    assert TAG not in imap.tagged_commands
    return typ, data, fetches, imap.untagged_responses


def _message(seq: int, uid: int, tail: bytes = b")") -> bytes:
    return (
        b'* %d FETCH (UID %d FLAGS (\\Seen) INTERNALDATE " 6-Nov-2026 06:23:55 +0100" RFC822.SIZE 421 %s {%d}\r\n'
        % (seq, uid, SECTION, len(HEAD))
        + HEAD
        + tail
        + b"\r\n"
    )


ANSWERS = {
    "plain": _message(1, 11) + _message(2, 12) + TAG + b" OK Fetch completed.\r\n",
    "news in between": (
        _message(1, 11)
        + b"* 3 EXISTS\r\n* VANISHED 5:6\r\n* 2 FETCH (UID 12 FLAGS (\\Flagged))\r\n"
        + b"* OK [ALERT] quota almost full\r\n"
        + _message(4, 14, b" MODSEQ (9))")
        + TAG
        + b" OK [MODIFIED 7] Conditional FETCH completed.\r\n"
    ),
    "a literal in another response": (
        b"* 9 FETCH (UID 19 BODY[HEADER] {3}\r\nabc BODY[TEXT] {2}\r\nxy)\r\n"
        + b'* LIST () "/" {5}\r\nINBOX\r\n'
        + TAG
        + b" NO [ALERT] try later\r\n"
    ),
}


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_read_answer_agrees_with_imaplib(name: str) -> None:
    wire = ANSWERS[name]
    assert _by_wire(wire) == _by_imaplib(wire)


def test_fetch_data_left_from_an_earlier_command_comes_first() -> None:
    imap = _imap(_message(2, 12) + TAG + b" OK done\r\n")
    imap.untagged_responses["FETCH"] = [b"1 (UID 11 FLAGS ())"]
    _typ, _data, fetches = read_answer(imap, TAG, "FETCH")
    assert fetches[0] == b"1 (UID 11 FLAGS ())" and len(fetches) == 3


@pytest.mark.parametrize(
    "wire, error",
    [
        (_message(1, 11)[:-40], imaplib.IMAP4.abort),  # dropped inside the literal
        (_message(1, 11), imaplib.IMAP4.abort),  # dropped before the tagged answer
        (_message(1, 11) + b"* BYE shutting down\r\n", imaplib.IMAP4.abort),
        (_message(1, 11) + b"* BYE [ALERT] account locked\r\n" + TAG + b" OK done\r\n", imaplib.IMAP4.abort),
        (_message(1, 11) + TAG + b" BAD syntax\r\n", imaplib.IMAP4.error),
        (b"* 1 FETCH (UID 1 FLAGS ())", imaplib.IMAP4.abort),  # unterminated line
    ],
)
def test_broken_answers_raise_what_imaplib_raises(wire: bytes, error: type[Exception]) -> None:
    with pytest.raises(error) as ours:
        _by_wire(wire)
    with pytest.raises(error) as theirs:
        _by_imaplib(wire)
    assert "FETCH" in str(ours.value)
    assert str(ours.value) == str(theirs.value)


def test_the_canonical_order_and_any_other_parse_alike() -> None:
    """The one-regex path for the usual item order and the general scanner give the same items,
    and both agree with imapclient."""
    _typ, _data, fetches = read_answer(_imap(ANSWERS["plain"]), TAG, "FETCH")
    reordered = [
        (
            b'1 (FLAGS (\\Seen) UID 11 RFC822.SIZE 421 INTERNALDATE " 6-Nov-2026 06:23:55 +0100" %s {%d}'
            % (SECTION, len(HEAD)),
            HEAD,
        ),
        b")",
        (
            b'2 (RFC822.SIZE 421 INTERNALDATE " 6-Nov-2026 06:23:55 +0100" FLAGS (\\Seen) UID 12 %s {%d}'
            % (SECTION, len(HEAD)),
            HEAD,
        ),
        b")",
    ]
    fast, general = fast_parse(fetches), fast_parse(reordered)
    slow = parse_fetch_response(fetches, False, True)
    assert fast is not None and fast == general
    assert sorted(fast) == sorted(slow) == [11, 12]
    for uid in fast:
        assert fast[uid][SECTION] == HEAD == slow[uid][SECTION]
        assert fast[uid][b"RFC822.SIZE"] == slow[uid][b"RFC822.SIZE"] == 421
        assert fast[uid][b"FLAGS"] == slow[uid][b"FLAGS"]
        assert fast[uid][b"INTERNALDATE"] == slow[uid][b"INTERNALDATE"]


def test_two_answers_for_one_uid_are_merged() -> None:
    """Another client's flag change for a UID can come in the very FETCH that brings its headers:
    the later flags win, the header block stays."""
    _typ, _data, fetches = read_answer(
        _imap(_message(1, 11) + b"* 1 FETCH (UID 11 FLAGS (\\Flagged))\r\n" + TAG + b" OK\r\n"), TAG, "FETCH"
    )
    parsed = fast_parse(fetches)
    assert parsed is not None and list(parsed) == [11]
    assert parsed[11][SECTION] == HEAD and parsed[11][b"FLAGS"] == (b"\\Flagged",)
    reordered = fast_parse(
        [b"1 (UID 11 FLAGS (\\Flagged))", (b"1 (FLAGS () UID 11 %s {%d}" % (SECTION, len(HEAD)), HEAD), b")"]
    )
    assert reordered is not None and reordered[11][SECTION] == HEAD and reordered[11][b"FLAGS"] == ()
