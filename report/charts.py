"""The report's two charts as bars the templates draw in HTML tables (and in text): interactions
per week, and my reply time per week against my 90-day median.

Why HTML bars and not pictures: Gmail and Outlook show no inline SVG, and a PNG is drawn for one
width; at a phone's 390 px it shrank the old 560 px chart's 7 pt labels to about 5 px. Table cells
with a background colour and a width in percent render in Gmail, Outlook (its Word engine too),
Apple Mail and every webmail; their labels are text, so they stay at the reader's font size on
any screen, follow dark mode, are read out by screen readers, and are never blocked as "remote
images" (Outlook blocks pictures by default). The message needs no image parts at all.

Everything here is plain numbers; the templates only lay them out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

#: Mid-tone colours legible on white and on near-black (contrast ≥ 3:1 against both).
IN_COLOUR = "#4e8fd6"
OUT_COLOUR = "#e0893a"
MEETING_COLOUR = "#4fa86a"
REPLY_COLOUR = "#b06fd0"
SLOW_COLOUR = "#e0893a"

#: Longest text bar, in characters (the text part stays within 78 columns).
TEXT_BAR = 28

SEGMENTS = (
    ("personal_in", "in", IN_COLOUR),
    ("personal_out", "out", OUT_COLOUR),
    ("meetings", "meetings", MEETING_COLOUR),
)


def _label(week_start: str) -> str:
    return date.fromisoformat(week_start).strftime("%d %b")


def _percent(value: float, largest: float) -> int:
    """A share of the widest bar in whole percent; anything above zero shows at least 1 %."""
    if value <= 0 or largest <= 0:
        return 0
    return max(1, round(100 * value / largest))


def weekly_bars(weeks: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per week: its label, total, the bar's width in % of the busiest week, and its segments
    (in, out, meetings) each as % of the bar, for a stacked horizontal bar."""
    totals = [sum(int(w.get(key, 0) or 0) for key, _, _ in SEGMENTS) for w in weeks]
    largest = max(totals, default=0)
    out = []
    for week, total in zip(weeks, totals, strict=True):
        segments = []
        for key, name, colour in SEGMENTS:
            n = int(week.get(key, 0) or 0)
            if n:
                segments.append({"name": name, "count": n, "colour": colour, "percent": 100 * n / total})
        out.append(
            {
                "label": _label(week["week_start"]),
                "total": total,
                "percent": _percent(total, largest),
                "segments": _whole(segments),
                "text_bar": "█" * round(TEXT_BAR * total / largest) if largest else "",
            }
        )
    return out


def _whole(segments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Segment widths in whole percent that add up to exactly 100 (largest remainder first)."""
    if not segments:
        return segments
    floors = [int(s["percent"]) for s in segments]
    order = sorted(range(len(segments)), key=lambda i: segments[i]["percent"] - floors[i], reverse=True)
    for i in order[: 100 - sum(floors)]:
        floors[i] += 1
    return [{**s, "percent": p} for s, p in zip(segments, floors, strict=True) if p > 0]


def reply_bars(trend: Sequence[dict[str, Any]], baseline_hours: float | None) -> list[dict[str, Any]]:
    """Per week: my median reply time as a bar (% of the slowest week), marked slow when above my
    90-day median; a week without replies has no bar."""
    values = [t.get("median_hours") for t in trend]
    largest = max((v for v in values if v is not None), default=0.0)
    out = []
    for t, value in zip(trend, values, strict=True):
        slow = value is not None and baseline_hours is not None and value > baseline_hours
        out.append(
            {
                "label": _label(t["week_start"]),
                "hours": value,
                "percent": _percent(value or 0.0, largest),
                "colour": SLOW_COLOUR if slow else REPLY_COLOUR,
                "slow": slow,
                "text_bar": "█" * round(TEXT_BAR * value / largest) if value and largest else "",
            }
        )
    return out


__all__ = [
    "IN_COLOUR",
    "MEETING_COLOUR",
    "OUT_COLOUR",
    "REPLY_COLOUR",
    "SLOW_COLOUR",
    "TEXT_BAR",
    "reply_bars",
    "weekly_bars",
]
