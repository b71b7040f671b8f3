"""Pure text helpers the templates use as filters: durations, local times, names, counts.

Kept apart from the templates so tests can call them with plain values, and so the text and the
HTML versions say exactly the same thing.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from markupsafe import Markup, escape

from kith.errors import ConfigError
from kith.text import clean_text, plural


def zone(name: str) -> ZoneInfo:
    """The configured time zone, or a ConfigError naming the key (never a silent UTC)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"kith.toml: [report] timezone: unknown time zone {name!r}",
            hint='use an IANA name such as "Europe/Berlin" or "UTC"',
        ) from exc


def parse_time(value: str | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def local_time(value: str | datetime | None, tz: str, fmt: str = "%a %d %b %H:%M") -> str:
    """A UTC instant shown as wall-clock time in ``tz`` (DST handled by zoneinfo)."""
    moment = parse_time(value)
    if moment is None:
        return "—"
    return moment.astimezone(zone(tz)).strftime(fmt)


def clock(value: str | datetime | None, tz: str) -> str:
    """``07:00 CET (Europe/Berlin)``; the zone once when its abbreviation is its name (``06:00 UTC``)."""
    moment = parse_time(value)
    if moment is None:
        return "—"
    local = moment.astimezone(zone(tz))
    abbreviation = local.strftime("%Z")
    return local.strftime("%H:%M ") + (abbreviation if abbreviation == tz else f"{abbreviation} ({tz})")


#: Characters after which a long identifier may wrap: the places a reader expects a break.
_BREAK_AFTER = re.compile(r"([.@/_=+-])")
#: The longest run without a break opportunity (a Gmail Message-ID has 40-character local parts).
_RUN = 12


def breakable(text: str | None) -> Markup:
    """HTML for a Message-ID or search hint that wraps only between its parts.

    ``word-break: break-all`` let a client break anywhere, so a long id could leave its closing
    ``>`` alone on the last line. Here a word longer than 12 characters may break only after
    ``. @ / _ = + -`` or inside runs longer than 12 characters, and never before its last
    character: the ``>`` stays with what precedes it. Shorter words and the spaces between
    words are left as they are.
    """
    return Markup(" ".join(_breakable_word(word) for word in (text or "").split(" ")))


def _breakable_word(word: str) -> str:
    if len(word) <= _RUN:
        return str(escape(word))
    parts: list[str] = []
    for piece in _BREAK_AFTER.split(word[:-1]):
        for start in range(0, len(piece), _RUN):
            parts.append(str(escape(piece[start : start + _RUN])))
            if start + _RUN < len(piece) or _BREAK_AFTER.fullmatch(piece):
                parts.append("<wbr>")
    if parts and parts[-1] == "<wbr>":
        parts.pop()  # nothing may break before the last character
    return "".join(parts) + str(escape(word[-1]))


def local_date(value: str | date | None, fmt: str = "%a %d %b %Y") -> str:
    if value is None:
        return "—"
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return day.strftime(fmt)


def waited(days: float | None) -> str:
    """How long something has waited, in the largest unit that reads naturally."""
    if days is None:
        return "—"
    hours = days * 24
    if hours < 1:
        return "under an hour"
    if hours < 48:
        n = round(hours)
        return f"{n} hour{'s' if n != 1 else ''}"
    if days < 14:
        n = round(days)
        return f"{n} days"
    if days < 60:
        return f"{round(days / 7)} weeks"
    if days < 730:
        return f"{round(days / 30.44)} months"
    return f"{round(days / 365.25)} years"


def hours(value: float | None) -> str:
    """A reply time: minutes under an hour, hours under two days, else days."""
    if value is None:
        return "—"
    if value < 1:
        return f"{max(1, round(value * 60))} min"
    if value < 48:
        return f"{value:.1f} h" if value < 10 else f"{round(value)} h"
    return f"{value / 24:.1f} days"


def cadence(days: float | None) -> str:
    if not days:
        return "no usual rhythm yet"
    if days < 1.5:
        return "about daily"
    if days < 13:
        return f"about every {round(days)} days"
    if days < 60:
        return f"about every {round(days / 7)} weeks"
    return f"about every {round(days / 30.44)} months"


def who(contact: dict[str, Any] | None) -> str:
    """``Name <address>`` when there is a name, else the address."""
    if not contact:
        return "someone"
    name = (contact.get("name") or "").strip()
    address = contact.get("address") or ""
    if name and address and name.lower() != address.lower():
        return f"{name} <{address}>"
    return name or address or "someone"


def display_name(contact: dict[str, Any] | None) -> str:
    """A contact's name as the report shows it (in its subject too): no control character, so a
    name stored with a CR/LF (by an older kith) cannot break the report's own headers."""
    if not contact:
        return "someone"
    name = " ".join(clean_text(contact.get("name") or "").split())
    return name or clean_text(contact.get("address") or "") or "someone"


def change(current: float | None, baseline: float | None) -> str:
    """A reply time against my usual one: ``25 % slower than usual``; empty when not comparable."""
    if current is None or not baseline:
        return ""
    pct = round((current - baseline) / baseline * 100)
    if pct == 0:
        return "as fast as usual"
    return f"{abs(pct)} % {'slower' if pct > 0 else 'faster'} than usual"


FILTERS = {
    "breakable": breakable,
    "clock": clock,
    "local_time": local_time,
    "local_date": local_date,
    "waited": waited,
    "hours": hours,
    "cadence": cadence,
    "who": who,
    "display_name": display_name,
    "plural": plural,
    "change": change,
}

__all__ = [
    "FILTERS",
    "breakable",
    "clock",
    "cadence",
    "change",
    "display_name",
    "hours",
    "local_date",
    "local_time",
    "parse_time",
    "plural",
    "waited",
    "who",
    "zone",
]
