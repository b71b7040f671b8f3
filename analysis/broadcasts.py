"""Broadcast outbound mail: by size (≥ 10 recipients) or as part of a mail merge.

A mail merge is one of ≥ 5 of my messages with the same normalised subject that reach different
people within 24 hours. Each message's window starts at its own time, so the verdict for a
message depends only on messages within a day either side of it: the incremental path reloads
two days either side of new mail and recomputes just that stretch.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from operator import attrgetter

from kith.config.models import AnalysisConfig

_PREFIX = re.compile(r"^\s*((re|fwd?|aw|wg|sv|vs|tr)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)


@lru_cache(maxsize=1 << 16)
def norm_subject(subject: str | None) -> str:
    """Reply/forward prefixes off, case and whitespace folded: the subject a merge shares.

    Cached: a thread's messages share their subject, and a rebuild normalises every message's.
    """
    return " ".join(_PREFIX.sub("", subject or "").lower().split())[:500]


@dataclass(frozen=True, slots=True)
class Outbound:
    """One of my messages as a merge sees it (slots: a rebuild holds half a million at once)."""

    key: str
    time: datetime
    subject_norm: str
    recipients: frozenset[str]
    #: automated outbound (my auto-replies) never makes a merge
    automated: bool = False


def mail_merges(messages: Iterable[Outbound], cfg: AnalysisConfig) -> set[str]:
    """Keys of the messages that belong to a mail merge."""
    groups: dict[str, list[Outbound]] = defaultdict(list)
    for m in messages:
        if not m.automated and m.recipients:
            groups[m.subject_norm].append(m)
    found: set[str] = set()
    for group in groups.values():
        if len(group) >= cfg.merge_min_messages:
            group.sort(key=attrgetter("time", "key"))
            found.update(group[i].key for i in _merged(group, cfg))
    return found


def _merged(group: list[Outbound], cfg: AnalysisConfig) -> Iterator[int]:
    """Indexes of the messages of one subject (in time order) that are in a merge's window.

    The window of each message slides over the group: the people in it are counted as messages
    enter and leave it, and a window that makes a merge marks only what is not marked yet, so a
    subject costs its recipients twice, not its messages times the window (a newsletter I send
    by hand every day, measured at 1M messages: 13M window steps, seconds of a rebuild).
    """
    need = cfg.merge_min_messages
    people: dict[str, int] = {}
    hi = marked = 0
    for lo, m in enumerate(group):
        if lo:  # the previous message leaves the window (if it was in it)
            if hi >= lo:
                for p in group[lo - 1].recipients:
                    if people[p] == 1:
                        del people[p]
                    else:
                        people[p] -= 1
            else:
                hi = lo
        end = m.time + cfg.merge_window
        while hi < len(group) and group[hi].time < end:
            for p in group[hi].recipients:
                people[p] = people.get(p, 0) + 1
            hi += 1
        if hi - lo >= need and len(people) >= need:
            yield from range(max(lo, marked), hi)
            marked = hi


__all__ = ["Outbound", "mail_merges", "norm_subject"]
