"""Hypothesis strategies for what strangers write: header bytes, encoded words naming any codec,
dates of every shape, display names, RRULEs. Used by ``test_fuzz.py``."""

from __future__ import annotations

import base64
import encodings.aliases
from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

#: Every codec name Python knows (text and not), what mail actually uses, and made-up ones.
CODECS: tuple[str, ...] = tuple(
    sorted(
        set(encodings.aliases.aliases.values())
        | set(encodings.aliases.aliases)
        | {"unicode_escape", "raw_unicode_escape", "rot13", "base64", "hex", "zlib", "bz2", "uu", "quopri"}
        | {"punycode", "idna", "undefined", "utf-7", "UTF-8", "GB2312", "EUC-KR", "x-unknown", "unknown-8bit"}
    )
)

#: Characters a stranger may put anywhere: controls of both ranges, lone surrogates, NUL, bidi
#: overrides, line and paragraph separators, plus plain text.
NASTY = st.sampled_from(
    [
        "\x00",
        "\x1b",
        "\x1b[2J",
        "\x1b]52;c;aGk=\x07",
        "\r",
        "\n",
        "\r\n",
        "\t",
        "\x7f",
        "\x85",
        "\x9b",
        "�",
        "�",
        "\u202e",
        "\u2028",
        "\ufeff",
        "�",
        "[link=https://x]",
        "=?",
        "?=",
        "<",
        ">",
        '"',
        ",",
        ";",
    ]
)


@st.composite
def text_value(draw: st.DrawFn, max_parts: int = 6) -> str:
    """Plain text, nasty characters and encoded words, mixed."""
    parts = draw(
        st.lists(
            st.one_of(st.text(max_size=12), NASTY, encoded_word()),
            max_size=max_parts,
        )
    )
    return draw(st.sampled_from([" ", "", "\t"])).join(parts)


@st.composite
def encoded_word(draw: st.DrawFn) -> str:
    """``=?charset?enc?payload?=`` with any codec name and any bytes (valid B/Q or not)."""
    codec = draw(
        st.one_of(
            st.sampled_from(CODECS),
            st.text(alphabet="abcdefghijklmnopqrstuvwxyz-_*0123456789", min_size=1, max_size=14),
        )
    )
    data = draw(st.binary(max_size=24))
    enc = draw(st.sampled_from("bBqQ"))
    if enc in "bB":
        payload = base64.b64encode(data).decode()
        if draw(st.booleans()):
            payload = payload.rstrip("=")
    else:
        payload = "".join(
            f"={b:02X}" if draw(st.booleans()) or not 33 <= b < 127 or b in b"?=_ " else chr(b) for b in data
        )
    if draw(st.integers(0, 9)) == 0:
        payload = draw(st.text(alphabet="!#$%&'*+-/^`{|}~abcXYZ019=", max_size=10))  # not B or Q at all
    return f"=?{codec}?{enc}?{payload}?="


def rfc_date(when: datetime, zone: str = "+0000") -> str:
    return f"{when:%a, %d %b %Y %H:%M:%S} {zone}"


@st.composite
def date_value(draw: st.DrawFn) -> str:
    """Dates as mail has them: valid ones anywhere in years 1-9999, impossible zones and months,
    two-digit years, ISO strings, garbage."""
    year = draw(st.one_of(st.integers(1, 9999), st.integers(1965, 2040)))
    try:
        when = datetime(year, draw(st.integers(1, 12)), draw(st.integers(1, 28)), tzinfo=UTC)
    except ValueError:  # pragma: no cover - every drawn value is a valid date
        when = datetime(2026, 1, 1, tzinfo=UTC)
    when += timedelta(seconds=draw(st.integers(0, 86399)))
    zone = draw(
        st.sampled_from(["+0000", "-0000", "+0530", "-1200", "+1400", "+9999", "-2400", "+0099", "GMT", "EST", ""])
    )
    return draw(
        st.one_of(
            st.just(f"{when:%a, %d %b} {year:04d} {when:%H:%M:%S} {zone}".strip()),
            st.just(f"{when:%d %b %y %H:%M} {zone}".strip()),
            st.just(when.isoformat()),
            st.sampled_from(["Do, 1 Okt 2020 10:00:00 +0200", "Fri, 31 Dec 9999 23:00:00 +0000", "", "yesterday"]),
            text_value(3),
        )
    )


@st.composite
def address(draw: st.DrawFn) -> str:
    local = draw(st.one_of(st.from_regex(r"[a-z][a-z0-9.+_-]{0,20}", fullmatch=True), st.text(max_size=10)))
    domain = draw(st.one_of(st.sampled_from(["example.org", "example.net", "xn--80ak6aa92e.com"]), st.text(max_size=8)))
    return f"{local}@{domain}"


@st.composite
def mailbox_header(draw: st.DrawFn) -> str:
    """``Name <addr>``, bare addresses, groups, several of them, broken quoting."""
    one = st.one_of(
        address(),
        st.builds(lambda n, a: f"{n} <{a}>", text_value(4), address()),
        st.builds(lambda n, a: f'"{n}" <{a}>', text_value(3), address()),
        text_value(3),
    )
    items = draw(st.lists(one, min_size=1, max_size=4))
    return ", ".join(items) if draw(st.booleans()) else f"group: {', '.join(items)};"


#: The fuzzed mailbox's owner (tests/hostile/test_fuzz.py's ME): commands count only from them.
OWNER = "me@example.com"


@st.composite
def command_subject(draw: st.DrawFn) -> str:
    """A subject shaped like a reply-to-act command (``kith: done #12 <token>``): near misses,
    flag numbers past any integer column, made-up tokens, nasty text around it. A stranger can
    send these; they must never act, stop a sync or be stored as mail of theirs that went missing."""
    action = draw(st.sampled_from(["done", "snooze 7d", "snooze 30d", "delete", "DONE", "snooze 7d "]))
    number = draw(st.one_of(st.integers(0, 50), st.integers(2**31 - 2, 2**31 + 2), st.integers(10**9, 10**20)))
    token = draw(st.one_of(st.from_regex(r"[A-Za-z0-9_-]{22}", fullmatch=True), st.text(max_size=30)))
    core = f"kith: {action} #{number} {token}"
    return draw(st.sampled_from(["{}", "Re: {}", "{} ", "=?utf-8?q?{}?="])).format(core) + draw(
        st.one_of(st.just(""), text_value(2))
    )


@st.composite
def hostile_message(draw: st.DrawFn, n: int) -> bytes:
    """A header block a stranger could send (``n`` keeps its Message-ID apart from good mail's)."""
    fields: list[tuple[str, str]] = []
    mid = draw(st.one_of(st.just(f"<h{n}@fuzz.test>"), st.just(""), text_value(2)))
    if mid or draw(st.booleans()):
        fields.append(("Message-ID", mid))
    for name, strategy in (
        ("From", st.one_of(mailbox_header(), st.just(OWNER))),
        ("To", mailbox_header()),
        ("Cc", mailbox_header()),
        ("Subject", st.one_of(text_value(), command_subject())),
        ("Date", date_value()),
        ("In-Reply-To", text_value(2)),
        ("References", text_value(3)),
        ("List-Id", text_value(2)),
        ("X-GM-THRID", text_value(2)),
        ("Auto-Submitted", text_value(1)),
    ):
        if draw(st.integers(0, 3)):
            fields.append((name, draw(strategy)))
    block = b"".join(f"{k}: {v}\r\n".encode("utf-8", "surrogatepass") for k, v in fields)
    if draw(st.integers(0, 4)) == 0:  # raw bytes too: 8-bit garbage, folded lines, a bare CR
        block += draw(st.binary(max_size=120)).replace(b"\n\n", b"\n").replace(b"\r\n\r\n", b"\r\n")
        block += b"\r\n"
    return block + b"\r\nbody\r\n"


FREQS = ("SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY")


@st.composite
def rrule(draw: st.DrawFn) -> str:
    """RRULE values from plausible to impossible (30 February) and endless."""
    parts = [f"FREQ={draw(st.sampled_from(FREQS))}"]
    if draw(st.booleans()):
        parts.append(f"INTERVAL={draw(st.integers(1, 5))}")
    end = draw(st.sampled_from(["", "COUNT", "UNTIL"]))
    if end == "COUNT":
        parts.append(f"COUNT={draw(st.integers(1, 200000))}")
    elif end == "UNTIL":
        parts.append(f"UNTIL={2020 + draw(st.integers(0, 20))}0101T000000Z")
    for key, values in (
        ("BYMONTH", st.integers(1, 12)),
        ("BYMONTHDAY", st.integers(-31, 31).filter(bool)),
        ("BYDAY", st.sampled_from(["MO", "TU", "WE", "TH", "FR", "SA", "SU", "1MO", "-1FR"])),
        ("BYHOUR", st.integers(0, 23)),
        ("BYMINUTE", st.integers(0, 59)),
        ("BYSECOND", st.integers(0, 59)),
        ("BYSETPOS", st.integers(-3, 3).filter(bool)),
    ):
        if draw(st.integers(0, 3)) == 0:
            parts.append(f"{key}={','.join(str(v) for v in draw(st.lists(values, min_size=1, max_size=4)))}")
    return ";".join(parts)


__all__ = ["CODECS", "encoded_word", "date_value", "hostile_message", "mailbox_header", "rrule", "text_value"]
