"""One contact's interactions in time order: the common input of the contact rules and statistics."""

from __future__ import annotations

import itertools
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import attrgetter

from kith.analysis.model import ContactData


@dataclass(slots=True)
class Point:
    time: datetime
    #: "in", "out" or "meeting"
    kind: str
    personal: bool
    broadcast: bool = False
    key: str = ""


_ORDER = attrgetter("time", "kind", "key")
_TIME = attrgetter("time")


def personal_until(data: ContactData, now: datetime) -> list[Point]:
    """Personal mail and counted meetings up to ``now``, oldest first: what "being in touch" means.

    Ties sort "in" < "meeting" < "out": a reply stamped with the same second as my message is
    not taken to come after it. Made once per evaluation: the rules, the stage, the schedule and
    the statistics all read it.
    """
    cache = data.cache.setdefault("personal", {})
    hit = cache.get(now)
    if hit is None:
        hit = [
            Point(m.time, "in" if m.inbound else "out", True, m.broadcast, m.key)
            for m in data.mails
            if m.personal and m.time <= now
        ]
        hit += [Point(mt.time, "meeting", True, False, mt.key) for mt in data.meetings if mt.counts and mt.time <= now]
        hit.sort(key=_ORDER)
        cache[now] = hit
    return hit


def since(points: list[Point], start: datetime) -> list[Point]:
    """The points of time-ordered ``points`` at ``start`` or later (a bisection, not a scan)."""
    return points[bisect_left(points, start, key=_TIME) :]


def after(points: list[Point], t: datetime) -> list[Point]:
    """The points of time-ordered ``points`` strictly after ``t``."""
    return points[bisect_right(points, t, key=_TIME) :]


def thread_replies(data: ContactData) -> dict[str, list[datetime]]:
    """My reply times per thread, sorted; computed once per evaluation (two rules read them)."""
    hit = data.cache.get("replies")
    if hit is None:
        hit = data.cache["replies"] = {t: sorted(v) for t, v in data.my_thread_replies.items()}
    return hit


#: An empty list of times, shared: the lookups below need no new one for a thread without any.
NO_TIMES: list[datetime] = []


def first_after(times: list[datetime], t: datetime) -> datetime | None:
    """The first time in sorted ``times`` strictly after ``t`` (a reply, a next message)."""
    i = bisect_right(times, t)
    return times[i] if i < len(times) else None


def meeting_ahead(data: ContactData, now: datetime) -> bool:
    return any(mt.counts and mt.time > now for mt in data.meetings)


#: Interactions closer than this belong to one conversation (DESIGN "Conversation and cadence").
CONVERSATION_GAP = timedelta(days=2)


def conversation_gaps(points: list[Point]) -> list[timedelta]:
    """The gaps between the starts of conversations in time-ordered ``points``: a thread of four
    replies in an afternoon is one conversation, so someone who writes in bursts every few weeks
    has a cadence of weeks, not hours. The one definition the reconnect rule, the stage and the
    statistics share."""
    starts: list[datetime] = []
    previous: datetime | None = None
    for p in points:
        if previous is None or p.time - previous > CONVERSATION_GAP:
            starts.append(p.time)
        previous = p.time
    return [b - a for a, b in itertools.pairwise(starts)]


__all__ = [
    "CONVERSATION_GAP",
    "NO_TIMES",
    "Point",
    "after",
    "first_after",
    "meeting_ahead",
    "personal_until",
    "since",
    "thread_replies",
]
