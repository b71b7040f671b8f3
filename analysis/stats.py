"""Per-contact statistics: counts, cadence, reply latencies both ways, reciprocity, strength.

Strength (0–100) adds four bounded parts, so each can be explained on its own:

- recency, up to 35: ``35 × 0.5 ** (days since the last personal interaction / 30)``
  (a half-life of a month);
- frequency, up to 30: ``30 × min(1, log2(1 + personal interactions in 90 days) / log2(1 + 24))``
  (two a week for 90 days is full marks);
- reciprocity, up to 20: ``20 × min(in, out) / max(in, out)`` over personal mail in 12 months;
- meetings, up to 15: ``15 × min(1, meetings in 180 days / 6)``.

A contact with no personal interaction at all scores 0.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timedelta
from operator import attrgetter
from statistics import median
from typing import Any

from kith.analysis.model import ContactData
from kith.analysis.timeline import (
    NO_TIMES,
    Point,
    conversation_gaps,
    first_after,
    personal_until,
    since,
    thread_replies,
)

#: A "reply" that comes after this long is a new conversation, not a reply.
REPLY_HORIZON = timedelta(days=30)


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    s = sorted(values)
    return s[max(0, math.ceil(q * len(s)) - 1)]


def _hours(d: timedelta) -> float:
    return d.total_seconds() / 3600


def reply_latencies(data: ContactData) -> tuple[list[float], list[float]]:
    """(my reply times, theirs) in hours: a personal message answered by the other side's next
    personal message in the same thread, or (for mine) my next message to them."""
    mine: list[float] = []
    theirs: list[float] = []
    mails = sorted((m for m in data.mails if m.personal), key=_time)
    replies = thread_replies(data)
    outs = [m.time for m in mails if not m.inbound]
    inbound_by_thread: dict[str, list[datetime]] = defaultdict(list)
    for m in mails:
        if m.inbound:
            inbound_by_thread[m.thread].append(m.time)
    # the mail comes in time order, so my next message after each of theirs is found by one
    # pointer walking ``outs`` (a contact's whole history is evaluated on every change)
    n_outs, j = len(outs), 0
    for m in mails:
        t = m.time
        if m.inbound:
            while j < n_outs and outs[j] <= t:
                j += 1
            first = outs[j] if j < n_outs else None
            in_thread = first_after(replies.get(m.thread, NO_TIMES), t)
            if in_thread is not None and (first is None or in_thread < first):
                first = in_thread
            if first is not None and first - t <= REPLY_HORIZON:
                mine.append(_hours(first - t))
        else:
            nxt = first_after(inbound_by_thread.get(m.thread, NO_TIMES), t)
            if nxt is not None and nxt - t <= REPLY_HORIZON:
                theirs.append(_hours(nxt - t))
    return mine, theirs


_time = attrgetter("time")


def cadence_gaps(personal: list[Point]) -> list[float]:
    """Days between conversations (``timeline.conversation_gaps``, the one definition)."""
    return [g.total_seconds() / 86400 for g in conversation_gaps(personal)]


def strength_parts(personal: list[Point], now: datetime) -> dict[str, float]:
    """The four parts of the 0–100 strength score, each with its own ceiling:
    recency (35, halving every 30 days since the last personal interaction), frequency (30, on a
    log scale up to 24 interactions in 90 days), reciprocity (20, the smaller of in and out over
    the larger, last 12 months) and meetings (15, six in 180 days). ``personal``: time-ordered,
    as ``personal_until`` gives it."""
    if not personal:
        return {"recency": 0.0, "frequency": 0.0, "reciprocity": 0.0, "meetings": 0.0}
    days = (now - personal[-1].time).total_seconds() / 86400
    recency = 35 * 0.5 ** (days / 30)
    n90 = len(since(personal, now - timedelta(days=90)))
    frequency = 30 * min(1.0, math.log2(1 + n90) / math.log2(25))
    year = since(personal, now - timedelta(days=365))
    n_in = sum(1 for p in year if p.kind == "in")
    n_out = sum(1 for p in year if p.kind == "out")
    reciprocity = 20 * (min(n_in, n_out) / max(n_in, n_out)) if max(n_in, n_out) else 0.0
    n_meet = sum(1 for p in since(personal, now - timedelta(days=180)) if p.kind == "meeting")
    meetings = 15 * min(1.0, n_meet / 6)
    return {"recency": recency, "frequency": frequency, "reciprocity": reciprocity, "meetings": meetings}


def strength(personal: list[Point], now: datetime) -> int:
    """The strength score: the sum of ``strength_parts``, rounded."""
    return round(sum(strength_parts(personal, now).values()))


def contact_stats(data: ContactData, now: datetime) -> dict[str, Any]:
    personal = personal_until(data, now)
    year = since(personal, now - timedelta(days=365))
    gaps = cadence_gaps(year)
    mine, theirs = reply_latencies(data)
    p_in = sum(1 for m in data.mails if m.inbound and m.personal)
    p_out = sum(1 for m in data.mails if not m.inbound and m.personal)
    met = [mt.time for mt in data.meetings if mt.counts and mt.time <= now]
    # every mail (even one dated ahead) and every meeting held so far
    seen = [*(m.time for m in data.mails), *met]
    last = personal[-1].time if personal else max((t for t in seen if t <= now), default=None)
    return {
        "personal_in": p_in,
        "personal_out": p_out,
        "broadcast_out": sum(1 for m in data.mails if not m.inbound and m.broadcast),
        "meetings": len(met),
        "first_seen": min(seen, default=None),
        "last_interaction": last,
        "cadence_days": round(median(gaps), 2) if gaps else None,
        "my_reply_median_h": _round(median(mine) if mine else None),
        "my_reply_p90_h": _round(percentile(mine, 0.9)),
        "their_reply_median_h": _round(median(theirs) if theirs else None),
        "their_reply_p90_h": _round(percentile(theirs, 0.9)),
        "reciprocity": round(p_in / p_out, 3) if p_out else None,
        "strength": strength(personal, now),
    }


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 2)


__all__ = ["REPLY_HORIZON", "contact_stats", "percentile", "reply_latencies", "strength", "strength_parts"]
