"""UID FETCH of headers, flags and changes, and the records built from them.

Why not ``IMAPClient.fetch`` as it is: imapclient 4.1 sends range strings such as ``1:*`` fine
but then filters the answer with ``int('1:*')`` and raises ``ValueError``; lists of single UIDs
work but make a command of several KB for a 1000-message batch. ``uid_fetch`` sends a compact
UID set (``1:500,502``) and keeps every message the server returned; it also collects
``VANISHED`` (RFC 7162 §3.2.10) replies that imapclient drops. The answer is read and parsed
by ``wire`` (several times faster than imaplib and imapclient, whose general machinery was the
largest cost of a header sync); anything it does not recognise goes to imapclient's parser.

Only the header fields the records need are asked for (``HEADER.FIELDS``, with ``PEEK`` so
nothing is marked read), plus FLAGS, INTERNALDATE and RFC822.SIZE; never a body.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from imapclient import IMAPClient
from imapclient.response_parser import parse_fetch_response

from kith.connectors.base import MessageRecord, Problem
from kith.connectors.headers import HEADER_FIELDS, parse_header_bytes
from kith.connectors.imap.wire import fast_parse, uid_fetch_answer

SECTION = "BODY.PEEK[HEADER.FIELDS ({})]".format(" ".join(HEADER_FIELDS))
#: How the server names the section in its answer (without PEEK).
SECTION_KEY = SECTION.replace(".PEEK", "").encode()
HEADER_ITEMS = ("UID", "FLAGS", "INTERNALDATE", "RFC822.SIZE", SECTION)
GMAIL_ITEMS = ("X-GM-MSGID", "X-GM-THRID", "X-GM-LABELS")
#: Session flags that say nothing about the message.
_IGNORED_FLAGS = frozenset({"\\Recent"})


def uid_set(uids: Iterable[int]) -> str:
    """Sorted UIDs as an IMAP sequence set with ranges: ``[1,2,3,7]`` → ``"1:3,7"``."""
    ordered = sorted(set(uids))
    if not ordered:
        raise ValueError("empty UID set")
    parts: list[str] = []
    start = prev = ordered[0]
    for uid in ordered[1:]:
        if uid == prev + 1:
            prev = uid
            continue
        parts.append(f"{start}:{prev}" if prev != start else str(start))
        start = prev = uid
    parts.append(f"{start}:{prev}" if prev != start else str(start))
    return ",".join(parts)


def parse_uid_set(text: str) -> list[int]:
    """``"1:3,7"`` → ``[1, 2, 3, 7]`` (for VANISHED replies)."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if ":" in part:
            a, b = (int(x) for x in part.split(":", 1))
            out.extend(range(min(a, b), max(a, b) + 1))
        else:
            out.append(int(part))
    return out


def uid_fetch(
    client: IMAPClient,
    uids: str | Sequence[int],
    items: Sequence[str],
    modifiers: Sequence[str] = (),
    stats: Counter[str] | None = None,
) -> tuple[dict[int, dict[bytes, Any]], list[int]]:
    """``UID FETCH`` → ({uid: {item: value}}, vanished UIDs)."""
    what = uids if isinstance(uids, str) else uid_set(uids)
    args = [what, "(" + " ".join(items) + ")"]
    if modifiers:
        args.append("(" + " ".join(modifiers) + ")")
    answer, told_vanished = uid_fetch_answer(client, args)
    if stats is not None:
        stats["fetch_headers" if SECTION in items else "fetch_flags"] += 1
    vanished: list[int] = []
    for line in told_vanished:
        text = line.decode() if isinstance(line, bytes) else str(line)
        vanished.extend(parse_uid_set(text.replace("(EARLIER)", "").strip()))
    parsed = fast_parse(answer)
    if parsed is None:
        parsed = parse_fetch_response(answer, False, True)
    fetched = {uid: v for uid, v in parsed.items() if isinstance(uid, int)}
    if stats is not None and told_more(what, modifiers, fetched, vanished):
        stats["unsolicited"] += 1
    return fetched, vanished


def told_more(what: str, modifiers: Sequence[str], fetched: Mapping[int, Any], vanished: Sequence[int]) -> bool:
    """Whether a FETCH answer told of changes it was not asked about: another client's expunges
    (VANISHED without the VANISHED modifier) or flags (a FETCH of a UID outside ``what``).

    The answer is consumed here, and a server does not tell a session the same news twice: a
    pass that heard some this way must not let a NOOP stand for "nothing changed" next time.
    """
    if vanished and not any("VANISHED" in m for m in modifiers):
        return True
    asked = set(parse_uid_set(what))
    return any(uid not in asked for uid in fetched)


def flags_of(values: Iterable[bytes | str]) -> frozenset[str]:
    out = set()
    for v in values:
        s = v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
        if s not in _IGNORED_FLAGS:
            out.add(s)
    return frozenset(out)


def _utc(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def gmail_key(data: dict[bytes, Any]) -> str | None:
    mid = data.get(b"X-GM-MSGID")
    return str(mid) if mid is not None else None


def build_records(
    fetched: dict[int, dict[bytes, Any]], uidvalidity: int, *, gmail: bool = False
) -> tuple[list[MessageRecord], list[Problem], dict[str, str]]:
    """Records for a header FETCH answer, in UID order, with versions ``UIDVALIDITY:UID``.

    The provider key is ``UIDVALIDITY:UID``, or the X-GM-MSGID on Gmail (stable across labels
    and resyncs); the version always records the UID so a deletion by UID finds the key.
    """
    records: list[MessageRecord] = []
    problems: list[Problem] = []
    versions: dict[str, str] = {}
    for uid in sorted(fetched):
        data = fetched[uid]
        location = f"{uidvalidity}:{uid}"
        key = (gmail_key(data) if gmail else None) or location
        head = data.get(SECTION_KEY)
        if head is None:
            head = next((v for k, v in data.items() if k.startswith(b"BODY[HEADER.FIELDS")), None)
        if head is None:
            problems.append(Problem(key, f"server returned no header block for UID {uid}"))
            continue
        labels: frozenset[str] = frozenset()
        thread_id = None
        if gmail:
            labels = flags_of(data.get(b"X-GM-LABELS") or ())
            thrid = data.get(b"X-GM-THRID")
            thread_id = str(thrid) if thrid is not None else None
        size = data.get(b"RFC822.SIZE")
        records.append(
            parse_header_bytes(
                bytes(head),
                key,
                flags=flags_of(data.get(b"FLAGS") or ()),
                labels=labels,
                size=int(size) if size is not None else None,
                received=_utc(data.get(b"INTERNALDATE")),
                thread_id=thread_id,
            )
        )
        versions[key] = location
    return records, problems, versions


__all__ = [
    "GMAIL_ITEMS",
    "HEADER_ITEMS",
    "SECTION",
    "build_records",
    "flags_of",
    "gmail_key",
    "parse_uid_set",
    "uid_fetch",
    "uid_set",
]
