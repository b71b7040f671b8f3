"""When a contact's verdicts can change with no new mail: the clock alone moves them.

A message turns two days old, a contact becomes overdue, a planned meeting passes, a broadcast
leaves the 180-day window. The analysis stores the earliest such moment per contact and
re-evaluates the contact then, so incremental runs stay exact without re-reading everyone.
Stages drift slowly (90-day windows): they are refreshed at least weekly.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from kith.analysis.model import ContactData
from kith.analysis.rules.reconnect import recent_cadence
from kith.config.models import AnalysisConfig

STAGE_REFRESH = timedelta(days=7)
#: Reconnect flags a silence that *exceeds* its threshold (DESIGN): at ``last + threshold`` it is
#: not overdue yet, so the check goes just past it (a check at the edge would find nothing and
#: leave the flag to the weekly refresh).
JUST_AFTER = timedelta(microseconds=1)


def next_check(data: ContactData, cfg: AnalysisConfig, now: datetime) -> datetime:
    times = [now + STAGE_REFRESH]
    times += [
        m.time + cfg.unanswered_after
        for m in data.mails
        if m.inbound and m.personal and m.time + cfg.unanswered_after > now
    ]
    times += [m.time for m in data.mails if m.time > now]
    times += [mt.time for mt in data.meetings if mt.counts and mt.time > now]
    window = [m.time for m in data.mails if not m.inbound and m.time >= now - cfg.broadcast_only_window]
    if window:
        times.append(min(window) + cfg.broadcast_only_window)
    year, _gaps, limit = recent_cadence(data, cfg, now)
    if year:
        times.append(year[0].time + cfg.reconnect_year)
        times.append(year[-1].time + limit + JUST_AFTER)
    return min(t for t in times if t > now)


__all__ = ["JUST_AFTER", "STAGE_REFRESH", "next_check"]
