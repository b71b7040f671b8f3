"""CalDAV resource names and provider keys, and the checks made on raw iCalendar data.

Pure helpers of ``kith.connectors.caldav``: how a member href becomes a stable resource name,
how occurrence keys are built and taken apart, and which events the expansion would drop.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote, unquote

import icalendar
from caldav.elements.base import ValuedBaseElement

from kith.connectors.base import Problem

#: Separates a resource name from the UID|RECURRENCE-ID part of a provider key. Resource names
#: are kept percent-encoded, so they never contain it.
KEY_SEP = "#"


class GetCTag(ValuedBaseElement):
    """``CS:getctag`` (calendarserver.org): changes whenever anything in the collection does."""

    tag = "{http://calendarserver.org/ns/}getctag"


def resource_name(calendar_path: str, href: str) -> str:
    """The member's path relative to its calendar, in one canonical percent-encoding.

    Servers spell the same href differently (``%40`` in a sync report, ``@`` in a multiget), so
    it is decoded and re-encoded; ``#``, ``|``, ``%`` and ``:`` always stay encoded, which keeps
    the key separator unambiguous and the name safe to join onto the calendar URL.
    """
    path = unquote(http_path(href))
    base = unquote(calendar_path).rstrip("/") + "/"
    rel = path[len(base) :] if path.startswith(base) else path
    return quote(rel, safe="/@+,;=!$'()*~")


def http_path(href: str) -> str:
    if "://" in href:
        href = "/" + href.split("://", 1)[1].partition("/")[2]
    return href


def key_resource(key: str) -> str:
    return key.split(KEY_SEP, 1)[0]


def key_occurrence(key: str) -> datetime | None:
    """The RECURRENCE-ID part of a key (None for a single event, or when it does not parse)."""
    tail = key.rsplit("|", 1)[-1] if "|" in key else ""
    try:
        return datetime.fromisoformat(tail) if tail else None
    except ValueError:
        return None


def looks_recurring(data: bytes) -> bool:
    """Whether a resource may expand differently tomorrow (cheap; a false hit costs one refetch)."""
    return b"RRULE" in data or b"RDATE" in data


#: Properties without which an event cannot be placed in time.
ESSENTIAL = frozenset({"DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID"})


def broken_events(data: bytes) -> list[Problem]:
    """Events the expansion skips silently (``skip_bad_series``) because a date or rule is broken.

    icalendar keeps a value it cannot parse as ``vBroken`` and lists it in ``errors``; such an
    event has no usable time, so it is reported instead of vanishing without a word.
    """
    out: list[Problem] = []
    for comp in icalendar.Calendar.from_ical(data).walk("VEVENT"):
        bad = [f"{prop}: {msg}" for prop, msg in getattr(comp, "errors", ()) if prop in ESSENTIAL]
        if comp.get("DTSTART") is None:
            bad.append("DTSTART is missing")
        if bad:
            out.append(Problem(str(comp.get("UID", "?")), "unreadable event: " + "; ".join(bad)))
    return out


__all__ = [
    "ESSENTIAL",
    "KEY_SEP",
    "GetCTag",
    "broken_events",
    "http_path",
    "key_occurrence",
    "key_resource",
    "looks_recurring",
    "resource_name",
]
