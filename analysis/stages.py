"""Levinger's stages from the data, with the evidence that placed the contact there.

Checked in this order (the first that applies wins):

- **ending**: the last personal interaction is more than a year old and nothing is planned;
- **acquaintance**: never two-way (no reply either way and no meeting), fewer than 4 personal
  interactions, or the first one less than 30 days ago;
- **deterioration**: overdue by the reconnect rule, or the last 90 days hold less than half the
  personal interactions of the 90 before (at least two before, and it has been longer than the
  usual gap); a meeting scheduled ahead rules this out;
- **build-up**: first met in the last 180 days and at least as active lately as before;
- **continuation**: a steady two-way relationship.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from statistics import median
from typing import Any

from kith.analysis.model import ContactData
from kith.analysis.rules.reconnect import recent_cadence
from kith.analysis.timeline import after, conversation_gaps, meeting_ahead, personal_until
from kith.config.models import AnalysisConfig

#: Levinger's stages in the order a relationship lives them (lists sort by it).
STAGES = ("acquaintance", "build-up", "continuation", "deterioration", "ending")
ENDING_AFTER = timedelta(days=365)
NEW = timedelta(days=180)
YOUNG = timedelta(days=30)
WINDOW = timedelta(days=90)


def stage(data: ContactData, cfg: AnalysisConfig, now: datetime) -> tuple[str, dict[str, Any]]:
    personal = personal_until(data, now)
    kinds = {p.kind for p in personal}
    two_way = "meeting" in kinds or {"in", "out"} <= kinds
    ahead = meeting_ahead(data, now)
    recent = len(after(personal, now - WINDOW))
    before = len(after(personal, now - 2 * WINDOW)) - recent
    ev: dict[str, Any] = {
        "personal_interactions": len(personal),
        "two_way": two_way,
        "last_90_days": recent,
        "previous_90_days": before,
        "meeting_ahead": ahead,
    }
    if not personal:
        return "acquaintance", {**ev, "why": "no personal interaction yet"}
    first, last = personal[0].time, personal[-1].time
    ev["first"] = first.isoformat()
    ev["last"] = last.isoformat()
    if now - last > ENDING_AFTER and not ahead:
        return "ending", {**ev, "why": "no personal interaction for more than a year"}
    if not two_way or len(personal) < cfg.reconnect_min_interactions or now - first < YOUNG:
        return "acquaintance", {**ev, "why": "not (yet) a two-way relationship"}
    gaps = conversation_gaps(personal)
    usual = median(gaps) if gaps else timedelta(0)
    if not ahead:
        # overdue is the reconnect rule's threshold, from the one cadence (DESIGN)
        if now - last > recent_cadence(data, cfg, now)[2]:
            return "deterioration", {**ev, "why": "overdue by their usual cadence"}
        if before >= 2 and recent * 2 < before and now - last > usual:
            return "deterioration", {**ev, "why": "far fewer interactions lately than before"}
    if now - first < NEW and recent >= before:
        return "build-up", {**ev, "why": "a new relationship, growing"}
    return "continuation", {**ev, "why": "steady two-way contact"}


__all__ = ["STAGES", "stage"]
