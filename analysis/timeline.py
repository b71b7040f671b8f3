"""One contact's interactions in time order: the common input of the contact rules and statistics."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime
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


def points(data: ContactData, meeting_max_future: datetime | None = None) -> list[Point]:
    """Every mail and every counted meeting (up to ``meeting_max_future``), oldest first.

    Ties sort "in" < "meeting" < "out": a reply stamped with the same second as my message is
    not taken to come after it.
    """
    cache = data.cache.setdefault("points", {})
    hit = cache.get(meeting_max_future)
    if hit is not None:
        return hit
    out = [Point(m.time, "in" if m.inbound else "out", m.personal, m.broadcast, m.key) for m in data.mails]
    out += [
        Point(mt.time, "meeting", True, False, mt.key)
        for mt in data.meetings
        if mt.counts and (meeting_max_future is None or mt.time <= meeting_max_future)
    ]
    out.sort(key=_ORDER)
    cache[meeting_max_future] = out
    return out


def personal_until(data: ContactData, now: datetime) -> list[Point]:
    """Personal mail and past meetings: what "being in touch" means."""
    cache = data.cache.setdefault("personal", {})
    if now not in cache:
        cache[now] = [p for p in points(data, now) if p.personal and p.time <= now]
    return cache[now]


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


__all__ = ["NO_TIMES", "Point", "first_after", "meeting_ahead", "personal_until", "points", "thread_replies"]
