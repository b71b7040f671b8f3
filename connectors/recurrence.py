"""Expanding recurring events with bounded work: a stranger's invitation must not exhaust kith.

A 278-byte ``.ics`` with ``RRULE:FREQ=SECONDLY`` expands to tens of millions of occurrences in
a year's window, and a rule no date can satisfy (``FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30``) keeps
``dateutil`` searching for seconds to minutes without producing one. So, for every calendar object
(one ``.ics`` file, one CalDAV resource):

- each recurring event (its master and overrides, by UID) is expanded slice by slice of the
  window, in start order, and kept to at most ``Limits.max_occurrences`` occurrences;
- an event that recurs more often than daily (``FREQ=HOURLY``, ``MINUTELY``, ``SECONDLY``, or
  several ``BYHOUR``/``BYMINUTE``/``BYSECOND`` values) is kept to at most
  ``Limits.max_subdaily`` occurrences: no meeting with a person happens that often;
- the whole object has ``Limits.seconds`` to expand; past that the expansion is interrupted,
  whatever library code is running, and what was expanded so far is kept.

Hitting a limit is a ``Problem`` naming the event, never an error: the rest of the calendar goes
on. The interruption is a trace function (``sys.settrace``) installed only for the expansion and
only on this thread; it checks the clock every ``CHECK_EVERY`` events, so it costs little and
never fires outside the expansion.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from types import FrameType
from typing import Any

import icalendar
import recurring_ical_events

#: Trace events between two looks at the clock.
CHECK_EVERY = 2048
#: The first slice of the window an event is expanded in, and the largest for an event that
#: recurs more often than daily (see ``_first``).
SLICE = timedelta(minutes=15)
DENSE_SLICE = timedelta(hours=1)
SUBDAILY = frozenset({"HOURLY", "MINUTELY", "SECONDLY"})


@dataclass(frozen=True, slots=True)
class Limits:
    """How much work one calendar object may cost (``[calendar]`` keys of a mailbox file, with
    these defaults; README "Calendars")."""

    #: Occurrences of one recurring event kept in the window (``max_occurrences``).
    max_occurrences: int = 5000
    #: Occurrences kept of an event recurring more often than daily (``max_subdaily_occurrences``).
    max_subdaily: int = 100
    #: Seconds one calendar object may take to expand (``expand_budget``).
    seconds: float = 5.0

    @classmethod
    def of(cls, calendar: Any) -> Limits:
        """The limits a calendar config sets."""
        return cls(
            max_occurrences=calendar.max_occurrences,
            max_subdaily=calendar.max_subdaily_occurrences,
            seconds=calendar.expand_budget.total_seconds(),
        )


class OutOfTime(Exception):
    """The expansion of one calendar object used up its time budget."""


#: The modules whose frames the budget may interrupt: the expansion's own. Raising anywhere
#: else (a garbage-collector callback, a ``__del__``, logging) would be swallowed there, and
#: Python then drops the trace function: the expansion would go on with no budget.
EXPANDING = ("dateutil", "recurring_ical_events", "icalendar", "x_wr_timezone", __name__)


def _budget(deadline: float) -> Callable[[FrameType, str, Any], Any]:
    count = 0

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal count
        count += 1
        if (
            count % CHECK_EVERY == 0
            and time.monotonic() > deadline
            and str(frame.f_globals.get("__name__", "")).startswith(EXPANDING)
        ):
            raise OutOfTime
        return tracer

    return tracer


def bounded(fn: Callable[[], Any], deadline: float) -> Any:
    """``fn()``, interrupted with ``OutOfTime`` once ``time.monotonic()`` passes ``deadline``."""
    if time.monotonic() > deadline:
        raise OutOfTime
    previous = sys.gettrace()
    sys.settrace(_budget(deadline))
    try:
        return fn()
    finally:
        sys.settrace(previous)


def _series(cal: Any) -> Iterator[tuple[str, Any]]:
    """(UID, a calendar holding only that event's components and the time zones), in file order."""
    zones = [c for c in cal.subcomponents if c.name == "VTIMEZONE"]
    by_uid: dict[str, list[Any]] = {}
    for comp in cal.subcomponents:
        if comp.name == "VEVENT":
            by_uid.setdefault(str(comp.get("UID") or ""), []).append(comp)
    for uid, comps in by_uid.items():
        one = icalendar.Calendar()
        for c in (*zones, *comps):
            one.add_component(c)
        yield uid, one


def _subdaily(cal: Any) -> bool:
    """More often than daily: a sub-daily FREQ, or several BYHOUR/BYMINUTE/BYSECOND values."""
    for comp in cal.subcomponents:
        rules = comp.get("RRULE")
        for rule in rules if isinstance(rules, list) else [rules] if rules is not None else []:
            if str((rule.get("FREQ") or [""])[0]).upper() in SUBDAILY:
                return True
            if any(len(rule.get(part) or ()) > 1 for part in ("BYHOUR", "BYMINUTE", "BYSECOND")):
                return True
    return False


def _earliest(cal: Any, zone: Any) -> datetime | None:
    """The earliest DTSTART among an event's components (where its occurrences begin)."""
    starts = [s for c in cal.subcomponents if c.name == "VEVENT" and (s := _start_of(c, zone)) is not None]
    return min(starts) if starts else None


def _start_of(occ: Any, zone: Any) -> datetime | None:
    """The occurrence's start as an aware datetime (a floating time in ``zone``, a date at its
    midnight there); None when it has none."""
    try:
        start = getattr(occ.get("DTSTART"), "dt", None)
    except Exception:  # icalendar's BrokenCalendarProperty: an unreadable date is no start
        return None
    if not isinstance(start, date):
        return None
    if not isinstance(start, datetime):
        return datetime(start.year, start.month, start.day, tzinfo=zone)
    return start if start.tzinfo is not None else start.replace(tzinfo=zone)


def _first(one: Any, window: tuple[datetime, datetime], cap: int, dense: bool) -> tuple[list[Any], bool]:
    """The first ``cap`` occurrences of one event in ``window`` (in start order), and whether
    there were more.

    The window is walked from the event's first start in slices that start at ``SLICE`` (a
    minute for an event recurring more often than daily, ``dense``) and double while a slice
    holds few occurrences, halve while it holds many (at most ``DENSE_SLICE`` when dense), so a
    dense rule is never expanded much beyond what is kept: ``between`` builds every occurrence of
    its range at once, and ``after`` expands the series again from its start for each slice.
    """
    lo, hi = window
    query = recurring_ical_events.of(one, skip_bad_series=True)
    taken: list[Any] = []
    first = _earliest(one, lo.tzinfo)
    at = lo if first is None or first <= lo else first
    span = DENSE_SLICE / 60 if dense else SLICE
    while at < hi:
        end = min(at + span, hi)
        found = query.between(at, end)
        if at > lo:  # an occurrence running across the slice's start came with the slice before
            found = [o for o in found if (s := _start_of(o, lo.tzinfo)) is None or s >= at]
        if len(taken) + len(found) > cap:
            found.sort(key=lambda o: _start_of(o, lo.tzinfo) or lo)
            return taken + found[: cap - len(taken)], True
        taken += found
        span = span * 2 if len(found) < cap // 4 else span / 2
        span = min(max(span, timedelta(seconds=1)), DENSE_SLICE) if dense else max(span, SLICE)
        at = end
    return taken, False


def occurrences(
    data: bytes, window: tuple[datetime, datetime], limits: Limits
) -> tuple[list[Any], list[tuple[str, str]]]:
    """The VEVENT occurrences of one calendar object in ``window``, within ``limits``, and the
    (UID, message) of every limit it hit."""
    deadline = time.monotonic() + limits.seconds
    found: list[Any] = []
    hit: list[tuple[str, str]] = []
    cal = icalendar.Calendar.from_ical(data)
    for uid, one in _series(cal):
        dense = _subdaily(one)
        cap = min(limits.max_occurrences, limits.max_subdaily) if dense else limits.max_occurrences
        try:
            taken, capped = bounded(partial(_first, one, window, cap, dense), deadline)
        except OutOfTime:
            hit.append((uid, f"took more than {limits.seconds:g} s to expand; expansion stopped (limit)"))
            break
        found += taken
        if capped:
            kind = "an event recurring more often than daily" if cap < limits.max_occurrences else "a recurring event"
            hit.append((uid, f"{kind}: only its first {cap} occurrences in the window are kept (limit)"))
    return found, hit


__all__ = ["CHECK_EVERY", "DENSE_SLICE", "EXPANDING", "SLICE", "Limits", "OutOfTime", "bounded", "occurrences"]
