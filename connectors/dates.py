"""The Date header (RFC 5322 §3.3) as an aware UTC time, or missing and named: out of headers.py.

Dates are where senders are most inventive (``Okt``, ``+9999``, the year ``0001``, no zone at
all), and where a wrong reading moves a message across the two-day and fourteen-day edges of the
rules. So the common shape takes a fast exact path, everything else ``email.utils``, and whatever
neither reads is recorded as a problem, never guessed, and never read in the machine's local time.
"""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, datetime, timedelta

from kith.text import clean_text

#: The RFC 5322 §3.3 shape nearly every Date header has: ``[Day, ]DD Mon YYYY HH:MM[:SS] ±ZZZZ``.
_DATE = re.compile(
    r"(?:[A-Za-z]{3},\s*)?(\d{1,2})\s+([A-Za-z]{3})\s+([1-9]\d{3})\s+(\d{2}):(\d{2})(?::(\d{2}))?\s+([+-])(\d{2})(\d{2})"
    r"(?:\s*\([^()]*\))?"
)
_MONTHS = {
    m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)
}


def _date_fast(text: str) -> datetime | None:
    """The common shape without ``email.utils`` (several times its speed); None: not that shape,
    or something in it the general path must name (an impossible zone, a date out of range)."""
    m = _DATE.fullmatch(text)
    if m is None:
        return None
    day, mon, year, hh, mm, ss, sign, zh, zm = m.groups()
    month = _MONTHS.get(mon.lower())
    if month is None or int(zh) > 23 or int(zm) > 59:
        return None
    try:
        local = datetime(int(year), month, int(day), int(hh), int(mm), int(ss or 0), tzinfo=UTC)
        offset = timedelta(hours=int(zh), minutes=int(zm))
        return local - offset if sign == "+" else local + offset
    except (ValueError, OverflowError):
        return None  # out of range: the general path says what is wrong


#: A four-digit year written with a leading zero (``0001``): ``email.utils`` reads it as a
#: two-digit year (``2001``), so it is caught before.
_ZERO_YEAR = re.compile(r"(?<![\d:+-])0\d{3}(?![\d:])")
#: A numeric zone (RFC 5322 §3.3 ``zone``), to check its hours and minutes.
_ZONE = re.compile(r"[+-](\d\d)(\d\d)(?!\d)")


def parse_date(value: str | None, problems: list[str]) -> datetime | None:
    """Date header (RFC 5322 §3.3) to aware UTC; what cannot be read is missing, and named.

    A date without a zone, or with ``-0000`` ("local time unknown", §3.3), is taken as UTC,
    never as the local time of the machine kith runs on. An impossible zone (``+9999``: more
    than 23 hours or 59 minutes) is read as UTC and named. Obsolete two-digit years are read as
    ``email.utils`` reads them.
    """
    if value is None:
        problems.append("Date: missing")
        return None
    text = str(value).strip()
    fast = _date_fast(text)
    if fast is not None:
        return fast
    shown = f"{clean_text(text)[:60]!r}"
    try:
        parts = email.utils.parsedate_tz(text)
    except Exception:  # the stdlib parser has raised IndexError/TypeError on odd input
        parts = None
    if parts is None or _ZERO_YEAR.search(text):
        problems.append(f"Date: unparsable {shown}")
        return None
    offset = parts[9] or 0
    zone = _ZONE.search(text)
    if zone is not None and (int(zone.group(1)) > 23 or int(zone.group(2)) > 59):
        problems.append(f"Date: impossible zone offset in {shown} (read as UTC)")
        offset = 0
    try:
        return datetime(*parts[:6], tzinfo=UTC) - timedelta(seconds=offset)
    except (ValueError, OverflowError):
        problems.append(f"Date: out of range {shown}")
        return None


__all__ = ["parse_date"]
