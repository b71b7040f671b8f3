"""Automated contacts: mail that is (almost) all automated, and never a personal word from me."""

from __future__ import annotations

from collections import Counter
from typing import Any

from kith.analysis.model import ContactData
from kith.config.models import AnalysisConfig


def automated_contact(data: ContactData, cfg: AnalysisConfig) -> tuple[bool, dict[str, Any] | None]:
    """(automated?, why). A contact who never sent me mail is not automated, whatever I sent them."""
    received = [m for m in data.mails if m.inbound]
    if not received:
        return False, None
    auto = [m for m in received if m.automated]
    if any(not m.inbound and m.personal for m in data.mails):
        return False, None
    if len(auto) < cfg.automated_share * len(received):
        return False, None
    reasons = Counter(m.automated_why or "automated" for m in auto)
    return True, {
        "automated_share": round(len(auto) / len(received), 3),
        "messages": len(received),
        "signals": dict(reasons.most_common(3)),
    }


__all__ = ["automated_contact"]
