"""The one sanitizer every record passes on its way from a connector to the store.

Everything a provider returns was written by someone else: a stranger's mail, an invitation, a
display name typed into Outlook. Whatever the connector, the text of a record may hold a NUL
(PostgreSQL refuses it), a lone surrogate (neither SQLite nor PostgreSQL can store one: a JSON
``"\\ud800"`` or an RFC 2047 word in ``unicode_escape`` makes one), or C0/C1 control characters
(CR/LF break the report's own mail headers; ESC sequences reach a terminal). So the sync engine
hands every batch to ``sanitize_batch`` before the store sees it:

- every text field of every record (subject, names, addresses, ids, labels, attendees…) loses
  NUL, lone surrogates and C0/C1 controls; TAB, CR and LF become a space;
- a message date outside the sane range (before 1970, or more than ``CLOCK_SKEW`` after its
  arrival, or after now when there is no arrival time) is kept as the sender wrote it but recorded
  as a problem; the analysis does not trust it (``kith.analysis.facts``);
- what changed is named in the record's ``problems``;
- a provider key is never rewritten (the connector diffs its own keys against the stored ones):
  an item whose key is not storable text becomes a ``Problem`` under an escaped key instead.

Records that are already clean (nearly all) cost one ``str.isprintable`` per field and are
passed on as they are.
"""

from __future__ import annotations

import re
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from kith.connectors.base import Address, Attendee, Batch, EventRecord, FlagUpdate, MessageRecord, Problem
from kith.text import UNSAFE, clean_text, is_clean

#: Before this a Date is not a mail date (a 1 January 0001 is Graph's "no date"; 1 Jan 1970 the
#: zero of a broken clock).
SANE_START = datetime(1970, 1, 1, tzinfo=UTC)
#: A Date this far after the arrival time (or after now) is a wrong clock or a forgery.
CLOCK_SKEW = timedelta(days=1)


def escape_key(key: str) -> str:
    """A provider key made storable: what the store refuses becomes a ``\\xNN``/``\\uNNNN`` escape."""
    if is_clean(key):
        return key
    return UNSAFE.sub(_escape, key)


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _clean_value(value: Any) -> Any:
    """The cleaned copy of one field's value (the same object when nothing changed)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, Address):
        address, name = clean_text(value.address), clean_text(value.name)
        return value if (address, name) == (value.address, value.name) else Address(address, name)
    if isinstance(value, Attendee):
        return _clean_record(value)[0]
    if isinstance(value, tuple):
        cleaned = tuple(_clean_value(v) for v in value)
        return value if all(a is b for a, b in zip(cleaned, value, strict=True)) else cleaned
    if isinstance(value, frozenset):
        if all(isinstance(v, str) and is_clean(v) for v in value):
            return value
        return frozenset(_clean_value(v) for v in value)
    return value


#: Fields never rewritten: the provider key (see the module docstring) and the problems list.
_KEPT = frozenset({"provider_key", "problems"})


def _clean_record(rec: Any) -> tuple[Any, list[str]]:
    """(cleaned record, names of the fields that changed)."""
    changes: dict[str, Any] = {}
    for f in fields(rec):
        if f.name in _KEPT:
            continue
        value = getattr(rec, f.name)
        cleaned = _clean_value(value)
        if cleaned is not value:
            changes[f.name] = cleaned
    return (replace(rec, **changes) if changes else rec), sorted(changes)


def date_problem(date: datetime | None, received: datetime | None, now: datetime) -> str | None:
    """Why ``date`` cannot be trusted as the time of a message, or None when it can."""
    if date is None:
        return None
    if date < SANE_START:
        return f"Date: {date:%Y-%m-%d} is before 1970 (not trusted)"
    if received is not None and date > received + CLOCK_SKEW:
        return f"Date: {date:%Y-%m-%d %H:%M} is more than a day after the arrival time (not trusted)"
    if date > now + CLOCK_SKEW:
        return f"Date: {date:%Y-%m-%d %H:%M} is in the future (not trusted)"
    return None


def _message_clean(rec: MessageRecord) -> bool:
    """Whether every text of a message record is printable already: one ``isprintable`` over
    all of them joined (the common case; a field-by-field walk costs a quarter of parsing)."""
    texts = [
        rec.message_id or "",
        rec.subject or "",
        rec.in_reply_to or "",
        rec.thread_id or "",
        rec.list_id or "",
        rec.list_unsubscribe or "",
        rec.list_post or "",
        rec.precedence or "",
        rec.auto_submitted or "",
        rec.return_path or "",
        rec.web_link or "",
        *rec.references,
        *rec.flags,
        *rec.labels,
    ]
    for one in (rec.from_, rec.sender):
        if one is not None:
            texts += (one.address, one.name)
    for many in (rec.reply_to, rec.to, rec.cc, rec.bcc):
        for a in many:
            texts += (a.address, a.name)
    return "".join(texts).isprintable()


def sanitize_record(rec: MessageRecord | EventRecord, now: datetime | None = None) -> MessageRecord | EventRecord:
    """One record, cleaned, with what was done to it added to its ``problems``."""
    if isinstance(rec, MessageRecord) and _message_clean(rec):
        why = date_problem(rec.date, rec.received, now or datetime.now(UTC))
        if why is None or why in rec.problems:
            return rec
        return replace(rec, problems=(*rec.problems, why))
    cleaned, changed = _clean_record(rec)
    problems = [f"{name}: control characters or lone surrogates removed" for name in changed]
    if isinstance(cleaned, MessageRecord):
        why = date_problem(cleaned.date, cleaned.received, now or datetime.now(UTC))
        if why is not None and why not in cleaned.problems:
            problems.append(why)
    if not problems:
        return cleaned
    return replace(cleaned, problems=(*cleaned.problems, *problems))


def sanitize_batch(batch: Batch, now: datetime | None = None) -> Batch:
    """The batch with every record cleaned; items whose provider key is not storable text are
    turned into problems (escaped key). The same batch object when nothing needed doing."""
    now = now or datetime.now(UTC)
    upserts: list[MessageRecord | EventRecord] = []
    problems: list[Problem] = list(batch.problems)
    changed = False
    for rec in batch.upserts:
        if not is_clean(rec.provider_key):
            problems.append(Problem(escape_key(rec.provider_key), "the provider's key for this item is not text"))
            changed = True
            continue
        clean = sanitize_record(rec, now)
        changed |= clean is not rec
        upserts.append(clean)
    flag_updates: list[FlagUpdate] = []
    for fu in batch.flag_updates:
        if not is_clean(fu.provider_key):
            changed = True  # the store cannot hold such a key, so it has nothing to update
            continue
        clean_fu = _clean_record(fu)[0]
        changed |= clean_fu is not fu
        flag_updates.append(clean_fu)
    deletions = tuple(escape_key(k) for k in batch.deletions)
    changed |= any(a is not b for a, b in zip(deletions, batch.deletions, strict=True))
    fixed_problems = [
        p
        if is_clean(p.provider_key) and is_clean(p.message)
        else Problem(escape_key(p.provider_key), clean_text(p.message))
        for p in problems
    ]
    changed |= any(a is not b for a, b in zip(fixed_problems, problems, strict=True))
    if not changed:
        return batch
    return replace(
        batch,
        upserts=tuple(upserts),
        flag_updates=tuple(flag_updates),
        deletions=deletions,
        problems=tuple(fixed_problems),
    )


__all__ = [
    "CLOCK_SKEW",
    "SANE_START",
    "clean_text",
    "date_problem",
    "escape_key",
    "is_clean",
    "sanitize_batch",
    "sanitize_record",
]
