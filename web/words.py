"""The reason for each flag in words, from its evidence: what the Today page says beside a name.

Wording only: whether a flag holds, and its numbers, are the analysis' (the evidence it stored).
"""

from __future__ import annotations

from typing import Any


def _n(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.0f}"
    return str(value) if value is not None else "?"


def reason(section: str, item: dict[str, Any]) -> str:
    """One sentence for a report item (``kith.report.data.shape_items``) of ``section``."""
    if section == "respond":
        return f"Their message has waited {_n(item.get('age_days'))} days for your answer."
    if section == "broadcast_only":
        return f"{_n(item.get('broadcasts'))} mass mailings from you lately, and no personal word."
    if section == "pull_back":
        return f"{_n(item.get('unanswered'))} of your messages in a row with no reply."
    cadence = item.get("cadence_days")
    usual = f"; you usually write every {_n(cadence)} days" if cadence else ""
    return f"{_n(item.get('days_since'))} days since you were last in touch{usual}."


__all__ = ["reason"]
