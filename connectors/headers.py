"""Turn a raw RFC 5322 header block into a ``MessageRecord``, whatever the sender did to it.

Shared by every connector that sees raw headers (Maildir, mbox, IMAP). Parsing is lenient on
purpose: an unknown charset, 8-bit garbage, a missing Date or an address without ``@`` costs that
field, never the message. What went wrong is listed in ``MessageRecord.problems``.
"""

from __future__ import annotations

import email.header
import email.utils
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32

from kith.connectors.base import Address, MessageRecord

#: The header fields the records need, for IMAP ``BODY.PEEK[HEADER.FIELDS (...)]``.
HEADER_FIELDS: tuple[str, ...] = (
    "MESSAGE-ID",
    "DATE",
    "SUBJECT",
    "FROM",
    "SENDER",
    "REPLY-TO",
    "TO",
    "CC",
    "BCC",
    "IN-REPLY-TO",
    "REFERENCES",
    "LIST-ID",
    "LIST-UNSUBSCRIBE",
    "LIST-POST",
    "PRECEDENCE",
    "AUTO-SUBMITTED",
    "RETURN-PATH",
    "X-GM-THRID",
)

#: Longest value we keep for free-text fields; a 100 KB Subject is an attack, not a subject.
MAX_TEXT = 998
MAX_ADDRESSES = 2000
MAX_REFERENCES = 200

_parser = BytesHeaderParser(policy=compat32)
_MSGID_RE = re.compile(r"<[^<>\s]+>")
_WS_RE = re.compile(r"\s+")


def decode_text(value: str | email.header.Header | None, problems: list[str], field: str) -> str | None:
    """Decode RFC 2047 encoded words; unknown charsets and bad bytes degrade to replacement."""
    if value is None:
        return None
    raw = str(value)
    try:
        parts = email.header.decode_header(raw)
    except Exception:  # HeaderParseError and friends: keep the raw text
        problems.append(f"{field}: undecodable encoded word")
        return _clean(raw)
    out: list[str] = []
    for chunk, charset in parts:
        if isinstance(chunk, str):
            out.append(chunk)
            continue
        try:
            out.append(chunk.decode(charset or "ascii"))
        except (LookupError, UnicodeDecodeError):
            problems.append(f"{field}: unknown or wrong charset {charset!r}")
            out.append(chunk.decode(charset if _known_charset(charset) else "utf-8", errors="replace"))
    return _clean("".join(out) if len(parts) > 1 else out[0] if out else "")


def _known_charset(charset: str | None) -> bool:
    if not charset:
        return False
    try:
        "".encode(charset)
    except LookupError:
        return False
    return True


def _clean(text: str) -> str:
    return _WS_RE.sub(" ", text).strip()[:MAX_TEXT]


def parse_addresses(values: Iterable[str], problems: list[str], field: str) -> tuple[Address, ...]:
    """All mailboxes of one or more address headers, groups flattened, invalid ones dropped."""
    values = [str(v) for v in values if v is not None]
    if not values:
        return ()
    try:
        pairs = email.utils.getaddresses(values)
    except Exception:
        problems.append(f"{field}: unparsable address list")
        return ()
    seen: set[str] = set()
    out: list[Address] = []
    dropped = 0
    for name, addr in pairs[:MAX_ADDRESSES]:
        addr = addr.strip().strip("<>").lower()
        if "@" not in addr or addr.startswith("@") or addr.endswith("@") or " " in addr:
            if addr or name:
                dropped += 1
            continue
        if addr in seen:
            continue
        seen.add(addr)
        out.append(Address(addr, decode_text(name, problems, field) or ""))
    if dropped:
        problems.append(f"{field}: {dropped} address(es) without a valid addr-spec dropped")
    return tuple(out)


def parse_date(value: str | None, problems: list[str]) -> datetime | None:
    """Date header to aware UTC; naive dates are taken as UTC, garbage as missing."""
    if value is None:
        problems.append("Date: missing")
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(str(value).strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        problems.append(f"Date: unparsable {str(value)[:60]!r}")
        return None
    if parsed is None:
        problems.append(f"Date: unparsable {str(value)[:60]!r}")
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        problems.append(f"Date: out of range {str(value)[:60]!r}")
        return None


def normalize_message_id(value: str | None) -> str | None:
    """The first ``<...>`` token of a Message-ID-like header, else the stripped text in brackets."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    match = _MSGID_RE.search(text)
    if match:
        return match.group(0)[:MAX_TEXT]
    token = text.split()[0].strip("<>")
    return f"<{token}>"[:MAX_TEXT] if token else None


def parse_references(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    ids = _MSGID_RE.findall(str(value))
    return tuple(dict.fromkeys(ids))[-MAX_REFERENCES:]


def _first(msg: Message, name: str) -> str | None:
    value = msg.get(name)
    return None if value is None else str(value)


def record_from_message(
    msg: Message | Mapping[str, str],
    provider_key: str,
    *,
    flags: frozenset[str] = frozenset(),
    labels: frozenset[str] = frozenset(),
    size: int | None = None,
    received: datetime | None = None,
    thread_id: str | None = None,
    extra_problems: Iterable[str] = (),
) -> MessageRecord:
    """Build the record from a parsed header block; never raises for bad content."""
    problems: list[str] = list(extra_problems)
    get_all = msg.get_all if isinstance(msg, Message) else (lambda k, d=None: [msg[k]] if k in msg else d)
    get = (lambda k: _first(msg, k)) if isinstance(msg, Message) else msg.get

    def one(name: str) -> Address | None:
        found = parse_addresses(get_all(name, []) or [], problems, name)
        return found[0] if found else None

    date = parse_date(get("Date"), problems)
    return_path = get("Return-Path")
    if return_path is not None:
        return_path = return_path.strip()
        return_path = "" if return_path in ("<>", "") else return_path.strip("<>").lower()
    msgid_raw = get("Message-ID")
    message_id = normalize_message_id(msgid_raw)
    if msgid_raw is not None and message_id is None:
        problems.append("Message-ID: empty")
    return MessageRecord(
        provider_key=provider_key,
        message_id=message_id,
        date=date,
        subject=decode_text(get("Subject"), problems, "Subject"),
        from_=one("From"),
        sender=one("Sender"),
        reply_to=parse_addresses(get_all("Reply-To", []) or [], problems, "Reply-To"),
        to=parse_addresses(get_all("To", []) or [], problems, "To"),
        cc=parse_addresses(get_all("Cc", []) or [], problems, "Cc"),
        bcc=parse_addresses(get_all("Bcc", []) or [], problems, "Bcc"),
        in_reply_to=normalize_message_id(get("In-Reply-To")),
        references=parse_references(get("References")),
        thread_id=thread_id or get("X-GM-THRID"),
        list_id=_token(get("List-Id")),
        list_unsubscribe=_token(get("List-Unsubscribe")),
        list_post=_token(get("List-Post")),
        precedence=_token(get("Precedence"), lower=True),
        auto_submitted=_token(get("Auto-Submitted"), lower=True),
        return_path=return_path,
        flags=flags,
        labels=labels,
        size=size,
        received=received,
        problems=tuple(problems),
    )


def _token(value: str | None, *, lower: bool = False) -> str | None:
    if value is None:
        return None
    text = _clean(str(value))
    return text.lower() if lower else text


def parse_header_bytes(
    data: bytes,
    provider_key: str,
    **kwargs: object,
) -> MessageRecord:
    """Parse a header block (or a whole message; parsing stops at the first blank line)."""
    head = data.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    msg = _parser.parsebytes(head, headersonly=True)
    extra: list[str] = []
    if not head.strip():
        extra.append("empty header block")
    elif msg.defects:
        extra.append("header defects: " + ", ".join(sorted({type(d).__name__ for d in msg.defects}))[:200])
    return record_from_message(msg, provider_key, extra_problems=extra, **kwargs)  # type: ignore[arg-type]


__all__ = [
    "HEADER_FIELDS",
    "decode_text",
    "normalize_message_id",
    "parse_addresses",
    "parse_date",
    "parse_header_bytes",
    "parse_references",
    "record_from_message",
]
