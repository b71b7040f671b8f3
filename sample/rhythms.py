"""Correspondents with a rhythm the rules must read as conversations, not messages.

A bursty correspondent trades several messages within an afternoon, every few weeks (a client
who settles everything in one exchange a month). DESIGN's cadence is the gap between the starts
of conversations, so such a person has a cadence of weeks and is not overdue two weeks after a
burst; a rule that took the gap between messages (hours) would flag them all. No intent is
planted: the quality test counts any reconnect flag on them as a false positive.
"""

from __future__ import annotations

from datetime import timedelta

from kith.sample.model import Person
from kith.sample.personas import Script


def bursty(s: Script, mailbox: str, other: Person) -> int:
    """Bursts of 3–6 messages an hour or two apart, every 5–7 weeks for a year; the last burst
    8–25 days ago and answered, so nothing is waiting and nothing is overdue."""
    now = s.w.now
    every = timedelta(days=s.rng.uniform(35, 49))
    last = now - timedelta(days=s.rng.uniform(8, 25))
    bursts = int(timedelta(days=330) / every)
    count = 0
    for k in range(bursts):
        start = last - every * (bursts - 1 - k) + timedelta(hours=s.rng.uniform(-6, 6))
        length = s.rng.choice((3, 4, 5))
        msgs = s.thread(mailbox, other, start, length, inbound_first=k % 2 == 0, gap=timedelta(hours=2))
        count += len(msgs)
    s.w.stages[other.address] = "continuation"
    return count
