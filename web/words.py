"""The reason for each flag in words, from its evidence: what the Today page says beside a name.

Wording only: whether a flag holds, and its numbers, are the analysis' (the evidence it stored).
"""

from __future__ import annotations

from typing import Any

from kith.analysis import kinds
from kith.analysis.kinds import FlagKind


def _n(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.0f}"
    return str(value) if value is not None else "?"


def reason(kind: FlagKind, item: dict[str, Any]) -> str:
    """One sentence for a report item (``kith.report.data.shape_items``) of ``kind``; a kind with no
    words of its own here (a rule just added) gets its advice."""
    if kind is kinds.UNANSWERED:
        return f"Their message has waited {_n(item.get('age_days'))} days for your answer."
    if kind is kinds.BROADCAST_ONLY:
        return f"{_n(item.get('broadcasts'))} mass mailings from you lately, and no personal word."
    if kind is kinds.ONE_SIDED:
        return f"{_n(item.get('unanswered'))} of your messages in a row with no reply."
    if kind is not kinds.RECONNECT:
        return kind.advice
    cadence = item.get("cadence_days")
    usual = f"; you usually write every {_n(cadence)} days" if cadence else ""
    return f"{_n(item.get('days_since'))} days since you were last in touch{usual}."


__all__ = ["reason"]
