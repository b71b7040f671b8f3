"""The report's sections as pure functions over plain dicts: what each says, how long lists are
cut, where a message can be opened, how stage changes are told apart. No database here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import quote

from kith.analysis import kinds
from kith.report.formatting import zone


def section(key: str, items: Sequence[dict[str, Any]], *, max_items: int) -> dict[str, Any]:
    """The section of the flag kind whose section key is ``key`` (``kith.analysis.kinds``: its title,
    advice and command), with its first ``max_items`` items and the count of those left out."""
    kind = kinds.by_section(key)
    if kind is None:
        raise KeyError(f"no flag kind has the report section {key!r}")
    shown = list(items[: max(0, max_items)])
    return {
        "key": key,
        "kind": kind.id,
        "title": kind.title,
        "advice": kind.advice,
        "command": kind.command,
        "total": len(items),
        "items": shown,
        "more": len(items) - len(shown),
    }


def empty_numbers() -> dict[str, Any]:
    zero = {"personal_in": 0, "personal_out": 0, "meetings": 0, "reply_median_hours": None, "replies": 0}
    return {"day": dict(zero), "week": dict(zero), "reply_median_90d_hours": None, "reply_median_90d_count": 0}


# --- time windows ------------------------------------------------------------------------------


def local_midnight(day: date, tz: str) -> datetime:
    """Start of ``day`` in ``tz``, as an aware UTC datetime (so DST days are 23 or 25 hours long).

    Converted to UTC on purpose: Python subtracts and compares two datetimes that share one
    tzinfo by their wall-clock fields, which would make every day 24 hours.
    """
    return datetime.combine(day, time(0), zone(tz)).astimezone(UTC)


def day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day."""
    return local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz)


def week_buckets(day: date, tz: str, weeks: int = 12) -> list[tuple[date, datetime, datetime]]:
    """``weeks`` runs of 7 local days ending the day before ``day`` (the last one is "the last 7 days")."""
    first = day - timedelta(days=7 * weeks)
    return [
        (
            first + timedelta(days=7 * i),
            local_midnight(first + timedelta(days=7 * i), tz),
            local_midnight(first + timedelta(days=7 * (i + 1)), tz),
        )
        for i in range(weeks)
    ]


# --- links -------------------------------------------------------------------------------------

GMAIL_THREAD_URL = "https://mail.google.com/mail/u/0/#all/{thread}"
#: The shape of Graph's own ``webLink`` property (an OWA deep link built from the message id).
OUTLOOK_WEBLINK = "https://outlook.office365.com/owa/?ItemID={item}&exvsurl=1&viewmodel=ReadMessageItem"
_GMAIL_FOLDER = re.compile(r"^\[(gmail|google mail)\]", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class MessageWhere:
    """What the store knows about where a message lives, enough to link to it."""

    message_id: str | None
    mailbox_kind: str = ""
    thread_id: str | None = None
    stream_names: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    provider_key: str | None = None


def is_gmail(where: MessageWhere) -> bool:
    """A Gmail API mailbox, or an IMAP mailbox on Gmail (its ``[Gmail]/…`` folders or X-GM labels)."""
    if where.mailbox_kind == "gmail":
        return True
    return any(_GMAIL_FOLDER.match(n) for n in where.stream_names) or any(
        lb.startswith(("\\Important", "\\Inbox", "\\Sent")) for lb in where.labels
    )


def gmail_thread(thread_id: str) -> str | None:
    """Gmail's web UI wants the hex thread id; IMAP's X-GM-THRID is the same number in decimal."""
    if thread_id.isdigit() and len(thread_id) > 16:
        return format(int(thread_id), "x")
    if re.fullmatch(r"[0-9a-fA-F]{8,20}", thread_id):
        return thread_id.lower()
    if thread_id.isdigit():
        return format(int(thread_id), "x")
    return None


def link_for(where: MessageWhere) -> dict[str, Any]:
    """A URL that opens the message when the provider has one, and always a search hint."""
    mid = where.message_id
    hint = f"Message-ID: {mid}" if mid else "no Message-ID: search by sender and subject"
    if where.thread_id and is_gmail(where):
        thread = gmail_thread(where.thread_id)
        if thread:
            gmail_hint = f"rfc822msgid:{mid.strip('<>')}" if mid else hint
            return {"kind": "gmail", "url": GMAIL_THREAD_URL.format(thread=thread), "hint": gmail_hint}
    if where.mailbox_kind == "graph" and where.provider_key:
        return {"kind": "outlook", "url": OUTLOOK_WEBLINK.format(item=quote(where.provider_key, safe="")), "hint": hint}
    return {"kind": "message_id", "url": None, "hint": hint}


# --- stage changes -----------------------------------------------------------------------------

_RANK = {"acquaintance": 0, "build-up": 1, "buildup": 1, "continuation": 2, "deterioration": -1, "ending": -2}


def _rank(stage: str | None) -> int | None:
    if stage is None:
        return None
    return _RANK.get(stage.lower().replace("_", "-"))


def stage_changes(
    before: Mapping[str, str] | None,
    after: Mapping[str, str],
    names: Mapping[str, str],
) -> list[dict[str, Any]]:
    """Contacts whose stage moved since the last report: deteriorations first, then build-ups.

    Without a previous report there is nothing to compare with, so nothing is reported (rather
    than every contact as "new"). A contact new since the last report shows up only once it is
    past acquaintance.
    """
    if before is None:
        return []
    out = []
    for address, stage in after.items():
        prev = before.get(address)
        if prev == stage or (prev is None and _rank(stage) in (None, 0)):
            continue
        r_prev, r_now = _rank(prev), _rank(stage)
        direction = (
            "down"
            if (r_now is not None and r_now < 0) or (r_prev is not None and r_now is not None and 0 <= r_now < r_prev)
            else "up"
        )
        out.append(
            {
                "contact": {"address": address, "name": names.get(address, "")},
                "before": prev,
                "after": stage,
                "direction": direction,
            }
        )
    out.sort(key=lambda c: (c["direction"] != "down", _rank(str(c["after"])) or 0, str(c["contact"]["address"])))  # type: ignore[index]
    return out


def median(values: Iterable[float]) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    mid = len(ordered) // 2
    value = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    return round(value, 2)


__all__ = [
    "MessageWhere",
    "day_bounds",
    "empty_numbers",
    "gmail_thread",
    "is_gmail",
    "link_for",
    "local_midnight",
    "median",
    "section",
    "stage_changes",
    "week_buckets",
]
