"""Broadcast outbound mail: by size (≥ 10 recipients) or as part of a mail merge.

A mail merge is one of ≥ 5 of my messages with the same normalised subject that reach different
people within 24 hours. Each message's window starts at its own time, so the verdict for a
message depends only on messages within a day either side of it: the incremental path reloads
two days either side of new mail and recomputes just that stretch.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

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
        if len(group) < cfg.merge_min_messages:
            continue
        group.sort(key=lambda m: (m.time, m.key))
        hi = 0
        for lo, m in enumerate(group):
            end = m.time + cfg.merge_window
            hi = max(hi, lo)
            while hi < len(group) and group[hi].time < end:
                hi += 1
            window = group[lo:hi]
            people = set().union(*(x.recipients for x in window))
            if len(window) >= cfg.merge_min_messages and len(people) >= cfg.merge_min_messages:
                found.update(x.key for x in window)
    return found


__all__ = ["Outbound", "mail_merges", "norm_subject"]
