"""Each field of a header block into its place in the record (RFC 5322 §3.6), at the edges: the
limits of RFC 5321 and of the store, empty and odd values, the body after the blank line, an mbox
``From `` line, and header sources other than bytes."""

from __future__ import annotations

import base64
from email.message import Message

from kith.connectors.base import Address
from kith.connectors.headers import (
    normalize_message_id,
    parse_addresses,
    parse_header_bytes,
    parse_references,
    record_from_message,
)


def parse(raw: bytes):  # type: ignore[no-untyped-def]
    return parse_header_bytes(raw, "k")


def problems(r) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
    """The record's problems but the missing Date most of these blocks leave out."""
    return tuple(p for p in r.problems if p != "Date: missing")


def test_every_field_lands_in_its_place() -> None:
    r = parse(
        b"Message-ID: <m@x>\nFrom: Ann <ann@x.example>\nSender: Sec <sec@x.example>\n"
        b"Reply-To: r1@x.example, r2@x.example\nTo: me@y.example\nCc: cc@y.example\nBcc: bcc@y.example\n"
        b"In-Reply-To: <p@x>\nReferences: <o@x> <p@x>\nSubject: hi\nList-Id: <l.x.example>\n"
        b"List-Unsubscribe: <mailto:u@x.example>\nList-Post: <mailto:l@x.example>\nPrecedence: BULK\n"
        b"Auto-Submitted: Auto-Replied\nReturn-Path: <Bounce@X.example>\nX-GM-THRID: 1234\n\n"
    )
    assert problems(r) == ()
    assert r.sender == Address("sec@x.example", "Sec")
    assert r.reply_to == (Address("r1@x.example"), Address("r2@x.example"))
    assert (r.to, r.cc, r.bcc) == ((Address("me@y.example"),), (Address("cc@y.example"),), (Address("bcc@y.example"),))
    assert (r.in_reply_to, r.references) == ("<p@x>", ("<o@x>", "<p@x>"))
    assert (r.list_id, r.list_unsubscribe, r.list_post) == (
        "<l.x.example>",
        "<mailto:u@x.example>",
        "<mailto:l@x.example>",
    )
    assert (r.precedence, r.auto_submitted) == ("bulk", "auto-replied")
    assert r.return_path == "bounce@x.example"
    assert r.thread_id == "1234"


def test_a_provider_thread_id_wins_and_a_long_one_is_cut() -> None:
    raw = b"From: a@x.example\nX-GM-THRID: " + b"9" * 300 + b"\n\n"
    assert parse_header_bytes(raw, "k", thread_id="t1").thread_id == "t1"
    assert parse(raw).thread_id == "9" * 200


def test_return_path_empty_or_bracketed() -> None:
    assert parse(b"From: a@x.example\nReturn-Path: <>\n\n").return_path == ""
    assert parse(b"From: a@x.example\nReturn-Path:   \n\n").return_path == ""
    assert (
        parse(b"From: a@x.example\nReturn-Path:  <Bounce+X@Lists.Example>  \n\n").return_path
        == "bounce+x@lists.example"
    )
    assert parse(b"From: a@x.example\n\n").return_path is None


def test_an_empty_message_id_is_named() -> None:
    r = parse(b"From: a@x.example\nMessage-ID:   \n\n")
    assert r.message_id is None and problems(r) == ("Message-ID: empty",)
    assert problems(parse(b"From: a@x.example\n\n")) == ()


def test_message_ids_and_references_at_the_edges() -> None:
    assert normalize_message_id("   ") is None
    assert normalize_message_id(None) is None
    assert normalize_message_id("  ABC@EXAMPLE.BOX  junk") == "<ABC@EXAMPLE.BOX>"
    assert normalize_message_id("<<AX@B.X>>") == "<AX@B.X>"
    assert parse_references("") == ()
    assert parse_references(None) == ()
    assert parse_references("no ids here") == ()


def test_address_limits_of_smtp_and_of_the_record() -> None:
    # RFC 5321 §4.5.3.1.3: 254 octets is the longest address; 255 is dropped
    ok, too_long = "a" * 241 + "@x.example.co", "a" * 242 + "@x.example.co"
    assert (len(ok), len(too_long)) == (254, 255)
    found_problems: list[str] = []
    assert [a.address for a in parse_addresses([f"{ok}, {too_long}"], found_problems, "To")] == [ok]
    assert found_problems == ["To: 1 address(es) without a valid addr-spec dropped"]
    # at most 2000 recipients are kept
    many = ", ".join(f"r{i}@x.example" for i in range(2001))
    found = parse_addresses([many], [], "To")
    assert len(found) == 2000 and found[-1].address == "r1999@x.example"


def test_odd_addresses_are_dropped_and_counted() -> None:
    found_problems: list[str] = []
    found = parse_addresses(["<@x.example>, <ann@>, bob@x.example"], found_problems, "To")
    assert [a.address for a in found] == ["bob@x.example"]
    assert found_problems == ["To: 2 address(es) without a valid addr-spec dropped"]
    found_problems = []
    assert parse_addresses(['"ann smith"@x.example'], found_problems, "To") == ()
    assert found_problems == ["To: 1 address(es) without a valid addr-spec dropped"]
    assert parse_addresses([], [], "To") == ()
    assert parse_addresses(["XAVIER@EXAMPLE.BOX"], [], "To") == (Address("xavier@example.box"),)


def test_display_names() -> None:
    found = parse_addresses(["bare@x.example, =?utf-8?q??= <e@x.example>, Ann <a@x.example>"], [], "To")
    assert found == (Address("bare@x.example", ""), Address("e@x.example", ""), Address("a@x.example", "Ann"))
    # a name without brackets around the address is the stdlib's to read, and never a crash
    assert parse_addresses(["Ann ann@x.example"], [], "To") == ()


def test_an_unpadded_base64_word_decodes() -> None:
    for text in ("Hello", "Hell", "Hel"):  # 7, 6 and 4 characters of base64 without their "="
        word = base64.b64encode(text.encode()).decode().rstrip("=")
        r = parse(f"From: a@x.example\nSubject: =?utf-8?B?{word}?=\n\n".encode())
        assert (r.subject, problems(r)) == (text, ())


def test_the_body_is_never_read_as_headers() -> None:
    for sep in (b"\n", b"\r\n"):
        raw = sep.join([b"Subject: real", b"From: a@x.example", b"", b"Subject: fake", b"To: eve@x.example", b""])
        r = parse(raw)
        assert (r.subject, r.to, problems(r)) == ("real", (), ())


def test_the_last_byte_of_a_block_without_a_blank_line_is_kept() -> None:
    r = parse(b"From: a@x.example\nSubject: hello")
    assert r.subject == "hello"


def test_field_names_are_exact() -> None:
    # "CCX" is not Cc; a name with a space is not a field, and is counted
    r = parse(b"From: a@x.example\nCCX: eve@x.example\nReply To: eve@x.example\n\n")
    assert r.cc == () and r.reply_to == ()
    assert problems(r) == ("1 line(s) that are not header fields",)
    # a line of white space other than a fold is not a field either, and not counted
    assert problems(parse(b"From: a@x.example\n\x0c\nSubject: s\n\n")) == ()


def test_an_mbox_from_line_is_not_a_bad_line() -> None:
    r = parse(b"From alice@x.example Mon Jan  1 00:00:00 2026\nFrom: a@x.example\nSubject: s\n\n")
    assert problems(r) == () and r.subject == "s"
    r = parse(b"From alice@x.example Mon Jan  1 00:00:00 2026\nbroken line\nFrom: a@x.example\n\n")
    assert problems(r) == ("1 line(s) that are not header fields",)


def test_white_space_only_is_an_empty_block() -> None:
    r = parse(b" \r\n\t\n")
    assert problems(r) == ("empty header block",)


def test_a_mapping_or_a_message_gives_the_same_record() -> None:
    r = record_from_message(
        {"FROM": "Ann <a@x.example>", "Cc": ["b@x.example", "c@x.example"], "Subject": "s", "List-Id": None}, "k"
    )
    assert r.from_ == Address("a@x.example", "Ann")
    assert [a.address for a in r.cc] == ["b@x.example", "c@x.example"]
    assert (r.subject, r.list_id, r.provider_key) == ("s", None, "k")
    m = Message()
    m["FROM"] = "Ann <a@x.example>"
    m["CC"] = "b@x.example"
    m["Cc"] = "c@x.example"
    r2 = record_from_message(m, "k", extra_problems=("from the provider",))
    assert r2.from_ == r.from_ and r2.cc == r.cc
    assert r2.problems[0] == "from the provider"


def test_return_path_from_a_mapping_is_trimmed_too() -> None:
    assert record_from_message({"Return-Path": "  <>  "}, "k").return_path == ""
    assert record_from_message({"Return-Path": " <Bounce@Lists.Example> "}, "k").return_path == "bounce@lists.example"
    assert parse(b"Return-Path: <X@Y.BOX>\n\n").return_path == "x@y.box"


def test_each_address_field_names_itself_in_its_problems() -> None:
    r = parse(b"Sender: s\nReply-To: r\nTo: t\nCc: c\nBcc: b\n\n")
    assert [p.split(":")[0] for p in problems(r)] == ["Sender", "Reply-To", "To", "Cc", "Bcc"]


def test_an_unknown_charset_with_bytes_that_are_not_utf8_is_replaced_and_named() -> None:
    r = parse(b"Subject: =?x-klingon?Q?caf=E9?=\n\n")
    assert r.subject == "caf\ufffd"
    assert problems(r) == ("Subject: unknown or not a text charset 'x-klingon' (read as UTF-8)",)
