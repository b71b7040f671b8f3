"""Know when to pull back: several personal messages of mine in a row and nothing back."""

from __future__ import annotations

from collections.abc import Container
from datetime import datetime

from kith.analysis.model import ContactData, Finding
from kith.analysis.timeline import Point, personal_until
from kith.config.models import AnalysisConfig


def one_sided(
    data: ContactData, cfg: AnalysisConfig, now: datetime, _flagged: Container[str] | None = None
) -> list[Finding]:
    """Open findings only (``_flagged``, the stored flags' keys, is for rules that also resolve: see
    ``kith.analysis.kinds.Rule``)."""
    personal = personal_until(data, now)
    start = len(personal)  # the run is personal[start:]: my messages since their last word
    while start and personal[start - 1].kind == "out":
        start -= 1
    run: list[Point] = personal[start:]
    if len(run) < cfg.one_sided_min or run[-1].time - run[0].time < cfg.one_sided_span:
        return []
    evidence = {
        "unanswered": len(run),
        "first": run[0].time.isoformat(),
        "last": run[-1].time.isoformat(),
        "span_days": round((run[-1].time - run[0].time).total_seconds() / 86400, 1),
    }
    return [
        Finding(
            kind="one_sided",
            key=f"one_sided:{data.address}:{run[0].key}",
            since=run[0].time,
            evidence=evidence,
            mark=f"{len(run)}:{run[-1].key}",
        )
    ]


__all__ = ["one_sided"]
