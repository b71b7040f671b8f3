"""Broadcast is not relationship building: contacts who only ever get my mass mail."""

from __future__ import annotations

from collections.abc import Container
from datetime import datetime

from kith.analysis.model import ContactData, Finding
from kith.config.models import AnalysisConfig


def broadcast_only(
    data: ContactData, cfg: AnalysisConfig, now: datetime, _flagged: Container[str] | None = None
) -> list[Finding]:
    """Open findings only (``_flagged``, the stored flags' keys, is for rules that also resolve: see
    ``kith.analysis.kinds.Rule``)."""
    window = now - cfg.broadcast_only_window
    sent = sorted((m for m in data.mails if not m.inbound and window <= m.time <= now), key=lambda m: m.time)
    if len(sent) < cfg.broadcast_only_min or not all(m.broadcast for m in sent):
        return []
    if any(m.personal for m in data.mails) or any(mt.counts for mt in data.meetings):
        return []
    evidence = {
        "broadcasts": len(sent),
        "first": sent[0].time.isoformat(),
        "last": sent[-1].time.isoformat(),
        "subjects": [m.subject for m in sent[-3:]],
    }
    return [
        Finding(
            kind="broadcast_only",
            key=f"broadcast_only:{data.address}",
            since=sent[0].time,
            evidence=evidence,
            mark=f"{len(sent)}:{sent[-1].key}",
        )
    ]


__all__ = ["broadcast_only"]
