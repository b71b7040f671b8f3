"""Keep in touch: a two-way contact overdue by their own cadence (and never more than 60 days)."""

from __future__ import annotations

from collections.abc import Container
from datetime import datetime, timedelta
from statistics import median

from kith.analysis.model import ContactData, Finding
from kith.analysis.timeline import Point, conversation_gaps, meeting_ahead, personal_until, since
from kith.config.models import AnalysisConfig


def threshold(gaps: list[timedelta], cfg: AnalysisConfig) -> timedelta:
    """max(14 days, 1.5 × cadence), capped at 60 days; ``gaps`` are between conversation starts."""
    usual = timedelta(seconds=median(g.total_seconds() for g in gaps)) if gaps else timedelta(0)
    return min(max(cfg.reconnect_min_gap, cfg.reconnect_factor * usual), cfg.reconnect_max_gap)


def recent_cadence(
    data: ContactData, cfg: AnalysisConfig, now: datetime
) -> tuple[list[Point], list[timedelta], timedelta]:
    """The personal interactions of the last ``reconnect_year``, the gaps between the starts of
    their conversations (the cadence's, DESIGN "Conversation and cadence") and the ``threshold``
    they give. Made once per evaluation: the rule and the schedule both read it."""
    cache = data.cache.setdefault("cadence", {})
    hit = cache.get(now)
    if hit is None:
        year = since(personal_until(data, now), now - cfg.reconnect_year)
        gaps = conversation_gaps(year)
        hit = cache[now] = (year, gaps, threshold(gaps, cfg))
    return hit


def reconnect(
    data: ContactData, cfg: AnalysisConfig, now: datetime, _flagged: Container[str] | None = None
) -> list[Finding]:
    """Open findings only (``_flagged``, the stored flags' keys, is for rules that also resolve: see
    ``kith.analysis.kinds.Rule``)."""
    year, gaps, limit = recent_cadence(data, cfg, now)
    kinds = {p.kind for p in year}
    two_way = "meeting" in kinds or {"in", "out"} <= kinds
    if len(year) < cfg.reconnect_min_interactions or not two_way or meeting_ahead(data, now):
        return []
    last = year[-1].time
    if now - last <= limit:
        return []
    evidence = {
        "last_interaction": last.isoformat(),
        "days_since": round((now - last).total_seconds() / 86400, 1),
        "cadence_days": round(median(g.total_seconds() for g in gaps) / 86400, 1),
        "threshold_days": round(limit.total_seconds() / 86400, 1),
        "interactions_12m": len(year),
    }
    return [
        Finding(
            kind="reconnect",
            key=f"reconnect:{data.address}:{last.isoformat()}",
            since=last + limit,
            evidence=evidence,
            mark=last.isoformat(),
        )
    ]


__all__ = ["reconnect", "recent_cadence", "threshold"]
