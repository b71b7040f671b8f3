"""Malformed and hostile headers: each message keeps what parsed and says what did not.

Every test here runs twice: with ``TZ`` pinned to UTC and to a zone far from it (Chatham,
UTC+12:45/+13:45), so nothing can pass only because the machine's clock is on UTC.
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from kith.connectors.headers import (
    decode_text,
    normalize_message_id,
    parse_date,
    parse_header_bytes,
    parse_references,
)


@pytest.fixture(autouse=True, params=["UTC", "Pacific/Chatham"])
def pinned_tz(request: pytest.FixtureRequest) -> Iterator[str]:
    old = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    try:
        yield request.param
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()


def parse(raw: bytes):  # type: ignore[no-untyped-def]
    return parse_header_bytes(raw, "k")


def test_unknown_charset_in_encoded_word() -> None:
    r = parse(
        b"From: =?x-klingon?Q?Kahless?= <k@qonos.example>\nSubject: =?x-klingon?B?SGVsbG8=?=\nDate: Tue, 3 Mar 2026 10:00:00 +0000\n\n"
    )
    assert r.from_ is not None and r.from_.address == "k@qonos.example"
    assert r.subject == "Hello"
    assert any("charset" in p for p in r.problems)


def test_eight_bit_garbage_is_replaced_not_fatal() -> None:
    r = parse(b"From: \xff\xfe Bob <bob@x.com>\nSubject: caf\xe9 \x80\x81\nTo: me@x.com\n\n")
    assert r.from_ is not None and r.from_.address == "bob@x.com"
    assert r.subject is not None and r.subject.startswith("caf")
    assert r.to[0].address == "me@x.com"


def test_missing_and_unparsable_dates() -> None:
    assert parse(b"From: a@x.com\n\n").date is None
    bad = parse(b"From: a@x.com\nDate: the day after tomorrow\n\n")
    assert bad.date is None and any(p.startswith("Date: unparsable") for p in bad.problems)
    shifted = parse(b"From: a@x.com\nDate: Tue, 3 Mar 2026 23:30:00 -0800\n\n")
    assert shifted.date == datetime(2026, 3, 4, 7, 30, tzinfo=UTC)
    naive = parse(b"From: a@x.com\nDate: Tue, 3 Mar 2026 23:30:00\n\n")
    assert naive.date == datetime(2026, 3, 3, 23, 30, tzinfo=UTC)
    assert naive.problems == ()


def test_a_date_without_a_known_zone_is_utc_never_the_local_time(pinned_tz: str) -> None:
    """RFC 5322 §3.3: ``-0000`` says the local zone is unknown; kith reads it, and a date with no
    zone at all, as UTC, whatever zone the machine is in."""
    for raw in ("Tue, 3 Mar 2026 23:30:00 -0000", "Tue, 3 Mar 2026 23:30:00", "3 Mar 2026 23:30 GMT"):
        problems: list[str] = []
        assert parse_date(raw, problems) == datetime(2026, 3, 3, 23, 30, tzinfo=UTC), (raw, pinned_tz)
        assert problems == []


def test_an_unknown_month_name_is_a_recorded_problem() -> None:
    """``Okt`` (German) is not an RFC 5322 month: the date is missing and the record says why."""
    r = parse(b"From: a@x.com\nDate: Do, 1 Okt 2020 10:00:00 +0200\n\n")
    assert r.date is None
    assert r.problems == ("Date: unparsable 'Do, 1 Okt 2020 10:00:00 +0200'",)


def test_impossible_zones_and_years_are_named_not_accepted_silently() -> None:
    """A zone is ±HHMM with HH ≤ 23 and MM ≤ 59; a year is the four digits written (0001 is the
    year 1, not 2001, and no mail was written then)."""
    problems: list[str] = []
    assert parse_date("Fri, 1 Jan 2021 10:00:00 +9999", problems) == datetime(2021, 1, 1, 10, tzinfo=UTC)
    assert problems == ["Date: impossible zone offset in 'Fri, 1 Jan 2021 10:00:00 +9999' (read as UTC)"]
    problems = []
    assert parse_date("Fri, 1 Jan 2021 10:00:00 -0075", problems) == datetime(2021, 1, 1, 10, tzinfo=UTC)
    assert len(problems) == 1 and "impossible zone" in problems[0]
    for raw in ("Mon, 1 Jan 0001 00:00:00 +0000", "Sun, 1 Jan 0099 00:10:00 +0100"):
        problems = []
        assert parse_date(raw, problems) is None, raw
        assert problems == [f"Date: unparsable {raw!r}"]


def test_addresses_without_at_are_dropped_and_reported() -> None:
    r = parse(b"From: a@x.com\nTo: undisclosed-recipients:;, bob, <>, Carol <carol@y.org>, carol@Y.org\n\n")
    assert [a.address for a in r.to] == ["carol@y.org"]
    assert any("without a valid addr-spec" in p for p in r.problems)


def test_duplicated_headers_take_the_first_and_merge_recipients() -> None:
    r = parse(
        b"Message-ID: <one@x>\nMessage-ID: <two@x>\nFrom: a@x.com\nTo: b@x.com\nTo: c@x.com\nSubject: first\nSubject: second\n\n"
    )
    assert r.message_id == "<one@x>"
    assert r.subject == "first"
    assert [a.address for a in r.to] == ["b@x.com", "c@x.com"]


def test_huge_header_block_is_bounded() -> None:
    big = (
        b"X-Junk: "
        + b"a" * 100_000
        + b"\nSubject: "
        + b"s" * 50_000
        + b"\nFrom: a@x.com\nReferences: "
        + b" ".join(b"<r%d@x>" % i for i in range(5000))
        + b"\n\n"
    )
    r = parse(big)
    assert r.from_ is not None and r.subject is not None and len(r.subject) <= 998
    assert len(r.references) == 200 and r.references[-1] == "<r4999@x>"


def test_empty_input() -> None:
    r = parse(b"")
    assert r.message_id is None and r.from_ is None and "empty header block" in r.problems


def test_list_and_automation_headers() -> None:
    r = parse(
        b"From: News <noreply@news.example>\nList-Id: Weekly <weekly.news.example>\nList-Unsubscribe: <mailto:u@news.example>\n"
        b"Precedence: BULK\nAuto-Submitted: auto-generated\nReturn-Path: <>\n\n"
    )
    assert r.list_id == "Weekly <weekly.news.example>"
    assert r.precedence == "bulk" and r.auto_submitted == "auto-generated" and r.return_path == ""


def test_message_id_normalisation() -> None:
    assert normalize_message_id("  <abc@x>  (comment)") == "<abc@x>"
    assert normalize_message_id("abc@x") == "<abc@x>"
    assert normalize_message_id("") is None
    assert parse_references("<a@x> junk <b@x>\n <a@x>") == ("<a@x>", "<b@x>")


def test_encoded_words_decode_like_the_stdlib() -> None:
    import email.header

    from kith.connectors.headers import decode_text

    samples = [
        "=?utf-8?q?Zo=C3=AB_M=C3=BCller?=",
        "=?ISO-8859-1?B?SGVsbG8gV/ZybGQ=?=",
        "Re: =?utf-8?b?w5xiZXJibGljaw==?= Q4",
        "=?utf-8?q?a?= =?utf-8?q?b?=",
        "=?UTF-8*en?Q?language_tag?=",
    ]
    for raw in samples:
        expected = str(email.header.make_header(email.header.decode_header(raw.replace("*en", ""))))
        problems: list[str] = []
        assert decode_text(raw, problems, "Subject") == expected, raw
        assert problems == [], raw
    problems: list[str] = []
    assert decode_text("=?utf-8?b?!!!?=", problems, "Subject") == "=?utf-8?b?!!!?="
    assert problems == ["Subject: undecodable encoded word"]


def test_a_charset_label_narrower_than_its_text_decodes_as_mail_clients_do() -> None:
    # "똠" is not in EUC-KR proper but is in cp949, which every client uses for the euc-kr label
    word = "=?euc-kr?B?" + base64.b64encode("똠방각하".encode("cp949")).decode() + "?="
    problems: list[str] = []
    assert decode_text(word, problems, "subject") == "똠방각하"
    assert problems == []
    # a truly wrong label still degrades to replacement characters, with the problem recorded
    assert "\ufffd" in (decode_text("=?utf-8?Q?=FF=FE?=", problems, "subject") or "")
    assert problems == ["subject: bytes that are not 'utf-8' (replaced)"]


@pytest.mark.parametrize(
    ("label", "text", "codec"),
    [
        ("GB2312", "€ 和 𠀀", "gb18030"),  # € and 𠀀 are GB18030, not GB2312
        ("gb2312", "€ 和 𠀀", "gb18030"),
        ("GBK", "𠀀", "gb18030"),
        ("EUC-KR", "똠방각하", "cp949"),  # 똠 is cp949 (UHC), not EUC-KR proper
        ("KS_C_5601-1987", "똠방각하", "cp949"),
        ("ISO-8859-1", "naïve “quotes”", "cp1252"),  # curly quotes are cp1252's 0x93/0x94
        ("US-ASCII", "€5", "cp1252"),
        ("Shift_JIS", "①", "cp932"),  # NEC circled digits: cp932 only
    ],
)
def test_a_label_in_any_case_finds_the_superset_mail_clients_read_it_as(label: str, text: str, codec: str) -> None:
    """WHATWG Encoding Standard §4.2: labels are case-insensitive and gb2312/gbk map to GB18030,
    euc-kr to windows-949, iso-8859-1 and us-ascii to windows-1252, shift_jis to windows-31J."""
    word = f"=?{label}?B?" + base64.b64encode(text.encode(codec)).decode() + "?="
    problems: list[str] = []
    assert decode_text(word, problems, "Subject") == text
    assert problems == []


def test_text_between_encoded_words_is_kept_and_only_white_space_between_them_goes() -> None:
    """RFC 2047 §6.2: white space between two adjacent encoded words is ignored; any other text
    between them, before the first or after the last, is part of the field."""
    cases = {
        "=?utf-8?q?Ann?= and =?utf-8?q?Bob?=": "Ann and Bob",
        "=?utf-8?q?Ann?=  \t =?utf-8?q?Bob?=": "AnnBob",
        "Re: =?utf-8?q?Ann?= (=?utf-8?q?Bob?=) ok": "Re: Ann (Bob) ok",
        "=?utf-8?q?a?=,=?utf-8?q?b?=": "a,b",
        "x =?utf-8?q?a?=": "x a",
    }
    for raw, expected in cases.items():
        problems: list[str] = []
        assert decode_text(raw, problems, "Subject") == expected, raw
        assert problems == [], raw


@pytest.mark.parametrize(
    "label", ["unicode_escape", "raw_unicode_escape", "rot13", "base64", "hex", "idna", "punycode", "zlib", "x-bogus"]
)
def test_only_text_charsets_decode_an_encoded_word(label: str) -> None:
    """An encoded word names a charset (RFC 2047 §2), not any codec Python has: ``unicode_escape``
    would turn ``\\ud800`` into a lone surrogate no database stores. Such a word is read as UTF-8
    with replacement, and the record says so."""
    problems: list[str] = []
    text = decode_text(f"=?{label}?q?x\\ud800_y?=", problems, "Subject")
    assert text == "x\\ud800 y"
    assert problems == [f"Subject: unknown or not a text charset {label!r} (read as UTF-8)"]


def test_nul_and_control_characters_never_leave_the_parser() -> None:
    r = parse(
        b"From: =?utf-8?q?Eve=00=1B=5D52=3Bc=3BaGk=07?= <eve@x.com>\nSubject: =?utf-8?q?a=00b=1B[2Jc=C2=9Bd?=\n"
        b"Message-ID: <id\x01@x>\nIn-Reply-To: <p\x00@x>\nReferences: <r\x1b@x>\nTo: me@x.com\n\n"
    )
    assert r.subject == "ab[2Jcd"
    assert r.from_ is not None and r.from_.name == "Eve]52;c;aGk"
    assert (r.message_id, r.in_reply_to, r.references) == ("<id@x>", "<p@x>", ("<r@x>",))
    assert "Subject: control characters or lone surrogates removed" in r.problems
    assert "From: control characters or lone surrogates removed" in r.problems


def test_an_address_longer_than_smtp_allows_is_dropped() -> None:
    """RFC 5321 §4.5.3.1.3: a path is at most 256 octets, so an address at most 254."""
    long = "a" * 250 + "@x.com"
    r = parse(f"From: a@x.com\nTo: {long}, b@x.com\n\n".encode())
    assert [a.address for a in r.to] == ["b@x.com"]
    assert "To: 1 address(es) without a valid addr-spec dropped" in r.problems


DATES = [
    "Sat, 06 Dec 2025 20:50:19 +0000",
    "6 Dec 2025 20:50 -0700",
    "Mon, 1 Jan 2024 00:00:00 -0000",
    "Tue, 31 Dec 2024 23:59:59 +1345 (CHAST)",
    "Thu, 29 Feb 2024 12:00:00 +0530",
    "Fri, 30 Feb 2024 12:00:00 +0000",
    "Fri, 1 Jan 9999 23:00:00 -0200",
    "Sun, 1 Jan 99 00:10:00 GMT",
    "Wed,  3 Mar 2021 09:05:01 EST",
    "03 Mar 2021 09:05 +0000 (UTC)",
]


def test_the_fast_date_path_agrees_with_the_stdlib() -> None:
    """The regex fast path for the common Date shape must give what ``email.utils`` gives, and a
    date that cannot be read is named in the problems (never silently missing)."""
    import email.utils

    for raw in DATES:
        try:
            expected = email.utils.parsedate_to_datetime(raw)
            expected = (expected if expected.tzinfo else expected.replace(tzinfo=UTC)).astimezone(UTC)
        except (ValueError, OverflowError):
            expected = None
        problems: list[str] = []
        assert parse_date(raw, problems) == expected, raw
        assert bool(problems) == (expected is None), (raw, problems)


def test_records_survive_pickling_between_processes() -> None:
    """Maildir parsing runs in a helper process: records must come back whole."""
    import pickle

    r = parse(
        b"Message-ID: <a@x>\nDate: Tue, 3 Mar 2026 10:00:00 +0100\nFrom: A <a@x.com>\nTo: b@x.com, C <c@x.com>\n"
        b"Subject: hi\nReferences: <1@x> <2@x>\n\n"
    )
    assert pickle.loads(pickle.dumps(r)) == r


def test_folding_continues_a_value_but_never_a_name() -> None:
    """RFC 5322 §2.2.3: a line break before white space folds a value; ``Subject\\r\\n : x`` is
    a broken line, not a Subject. CRLF and LF, spaces and tabs alike."""
    from kith.connectors.headers import split_header_block

    problems: list[str] = []
    block = (
        b"Subject: a long\r\n  subject\r\nReferences: <a@x>\r\n\t<b@x>\nTo: me@x.org,\n you@x.org\r\n"
        b"Message-ID\r\n : <no@x>\r\nX-Other: y\r\n z\r\n\r\nbody: not a header\r\n"
    )
    fields = split_header_block(block, problems)
    assert fields == {
        "subject": ["a long  subject"],
        "references": ["<a@x>\t<b@x>"],
        "to": ["me@x.org, you@x.org"],
    }
    assert problems == ["1 line(s) that are not header fields"]  # "Message-ID" alone on its line
