"""The report's two charts as PNG bytes: interactions per week, and my reply-time trend.

Why PNG with a transparent background: mail clients show no SVG and run no scripts, and dark
mode inverts the page but never the images. A transparent background with mid-tone colours and
mid-grey text reads on white and on near-black alike, so one image serves both themes.
Rendered at 2x for high-density screens; the HTML shows them at half their pixel width.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display, no GUI toolkit: the daemon runs headless

from matplotlib.figure import Figure

#: Mid-tone colours legible on white and on #121212 (contrast ≥ 3:1 against both).
INK = "#8a8f98"
GRID = "#8a8f9840"
IN_COLOUR = "#4e8fd6"
OUT_COLOUR = "#e0893a"
MEETING_COLOUR = "#4fa86a"
TREND_COLOUR = "#b06fd0"
BASELINE_COLOUR = "#8a8f98"

WIDTH_PX = 560
HEIGHT_PX = 200
DPI = 200  # 2x: 1120 × 400 pixels shown at 560 × 200


def _figure() -> tuple[Figure, Any]:
    fig = Figure(figsize=(WIDTH_PX / 100, HEIGHT_PX / 100), dpi=DPI)
    fig.patch.set_alpha(0.0)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_facecolor("none")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(INK)
    ax.tick_params(colors=INK, labelsize=7)
    ax.yaxis.grid(True, color=GRID, linewidth=0.6)
    ax.set_axisbelow(True)
    return fig, ax


def _png(fig: Figure) -> bytes:
    fig.tight_layout(pad=0.6)
    out = io.BytesIO()
    fig.savefig(out, format="png", transparent=True, metadata={"Software": None})
    return out.getvalue()


def _labels(weeks: Sequence[dict[str, Any]]) -> list[str]:
    return [date.fromisoformat(w["week_start"]).strftime("%d %b") for w in weeks]


def weekly_chart(weeks: Sequence[dict[str, Any]]) -> bytes:
    """Stacked bars per week: personal mail in, personal mail out, meetings."""
    fig, ax = _figure()
    labels = _labels(weeks)
    x = list(range(len(weeks)))
    inbound = [w.get("personal_in", 0) for w in weeks]
    outbound = [w.get("personal_out", 0) for w in weeks]
    meetings = [w.get("meetings", 0) for w in weeks]
    ax.bar(x, inbound, color=IN_COLOUR, width=0.7, label="in")
    ax.bar(x, outbound, bottom=inbound, color=OUT_COLOUR, width=0.7, label="out")
    ax.bar(
        x,
        meetings,
        bottom=[a + b for a, b in zip(inbound, outbound, strict=True)],
        color=MEETING_COLOUR,
        width=0.7,
        label="meetings",
    )
    ax.set_xticks(x, labels, rotation=0)
    for i, tick in enumerate(ax.get_xticklabels()):
        tick.set_visible(i % 2 == len(x) % 2 or len(x) <= 6)  # every other label: no overlap on phones
    ax.set_ylabel("interactions", color=INK, fontsize=7)
    legend = ax.legend(
        loc="lower left", bbox_to_anchor=(0.0, 1.0), fontsize=7, frameon=False, ncols=3, borderaxespad=0.2
    )
    for text in legend.get_texts():
        text.set_color(INK)
    return _png(fig)


def reply_chart(trend: Sequence[dict[str, Any]], baseline_hours: float | None) -> bytes:
    """My median reply time per week, with the 90-day median as a dashed line."""
    fig, ax = _figure()
    labels = _labels(trend)
    x = list(range(len(trend)))
    values = [t.get("median_hours") for t in trend]
    points = [(i, v) for i, v in zip(x, values, strict=True) if v is not None]
    if points:
        ax.plot(
            [p[0] for p in points],
            [p[1] for p in points],
            color=TREND_COLOUR,
            marker="o",
            markersize=3,
            linewidth=1.6,
            label="my median reply (h)",
        )
    if baseline_hours is not None:
        ax.axhline(baseline_hours, color=BASELINE_COLOUR, linestyle="--", linewidth=1, label="90-day median")
    ax.set_xticks(x, labels)
    for i, tick in enumerate(ax.get_xticklabels()):
        tick.set_visible(i % 2 == len(x) % 2 or len(x) <= 6)
    ax.set_xlim(-0.5, max(len(x) - 0.5, 0.5))
    ax.set_ylim(bottom=0)
    ax.set_ylabel("hours", color=INK, fontsize=7)
    if points or baseline_hours is not None:
        legend = ax.legend(
            loc="lower left", bbox_to_anchor=(0.0, 1.0), fontsize=7, frameon=False, ncols=2, borderaxespad=0.2
        )
        for text in legend.get_texts():
            text.set_color(INK)
    return _png(fig)


__all__ = ["HEIGHT_PX", "WIDTH_PX", "reply_chart", "weekly_chart"]
