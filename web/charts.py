"""Charts as inline SVG, drawn on the server: crisp at any width, no script, no image files.

The SVG scales with its container (a ``viewBox`` and ``width: 100%``), so one drawing serves a
390 px phone and a desktop; its text is sized for the phone. Colours come from classes styled
in kith.css, which switches them for dark mode (no ``style`` attribute: the CSP forbids inline
styles). For screen readers the SVG is one image (``role="img"``) whose title and description
say what it shows in words, and the page puts the numbers in a table beside it; each bar and
marker also carries a ``<title>`` for a pointer's tooltip.

Every text that reaches the SVG is escaped here: a name from a mail header is hostile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from markupsafe import Markup, escape

WIDTH = 480
HEIGHT = 200
LEFT, RIGHT, TOP, BOTTOM = 30, 6, 22, 24
SERIES = (("in", "received"), ("out", "sent"), ("meet", "meetings"))


@dataclass(frozen=True, slots=True)
class Bar:
    """One week: its first day and the counts of each series, in ``SERIES`` order."""

    start: date
    counts: tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Marker:
    """A vertical line at ``day`` with a short label (a stage change)."""

    day: date
    label: str


def _nice_max(value: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if value <= step * 4:
            return step * 4 if value > 4 else max(4, value)
    return value


def weekly_chart(bars: Sequence[Bar], markers: Sequence[Marker], *, ident: str, title: str, desc: str) -> Markup:
    """Stacked bars per week (received, sent, meetings) with stage changes marked."""
    n = max(1, len(bars))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / n
    top = _nice_max(max((sum(b.counts) for b in bars), default=0))
    scale = plot_h / top if top else 0.0
    tid, did = f"{ident}-title", f"{ident}-desc"
    out = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{tid} {did}" '
        'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{tid}">{escape(title)}</title>',
        f'<desc id="{did}">{escape(desc)}</desc>',
    ]
    # horizontal grid: 0, half, top
    for frac in (0.0, 0.5, 1.0):
        y = TOP + plot_h - frac * plot_h
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        out.append(f'<text class="tick" x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">{round(top * frac)}</text>')
    # a label at each January (with its year) and July: few enough to stay apart on a phone
    first_of_half = {i for i, b in enumerate(bars) if b.start.month in (1, 7) and b.start.day <= 7}
    out.append('<g shape-rendering="crispEdges">')
    for i, b in enumerate(bars):
        x = LEFT + i * slot
        y = TOP + plot_h
        parts = [f"week of {b.start.isoformat()}"] + [
            f"{c} {name}" for c, (_, name) in zip(b.counts, SERIES, strict=True) if c
        ]
        out.append(f"<g><title>{escape(', '.join(parts))}</title>")
        for c, (cls, _) in zip(b.counts, SERIES, strict=True):
            if not c:
                continue
            h = c * scale
            y -= h
            out.append(
                f'<rect class="bar-{cls}" x="{x + 0.15 * slot:.2f}" y="{y:.2f}" width="{0.7 * slot:.2f}" height="{h:.2f}"/>'
            )
        out.append("</g>")
    out.append("</g>")
    for i in sorted(first_of_half):
        b = bars[i]
        x = LEFT + i * slot
        label = b.start.strftime("%b %Y") if b.start.month == 1 else b.start.strftime("%b")
        out.append(f'<text class="tick" x="{x:.1f}" y="{HEIGHT - 6}">{escape(label)}</text>')
    out.append(
        f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" '
        'shape-rendering="crispEdges"/>'
    )
    if bars:
        first, last = bars[0].start, bars[-1].start
        span = max(1, (last - first).days + 7)
        for k, m in enumerate(markers, 1):
            if not first <= m.day < last + timedelta(days=7):
                continue
            x = LEFT + (m.day - first).days / span * plot_w
            out.append(f"<g><title>{escape(m.label)}</title>")
            out.append(f'<line class="marker" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP - 4}" y2="{TOP + plot_h}"/>')
            out.append(f'<text class="marker-label" x="{x:.1f}" y="{TOP - 8}" text-anchor="middle">{k}</text>')
            out.append("</g>")
    out.append("</svg>")
    return Markup("".join(out))


def legend() -> Markup:
    """The series' colour keys, as HTML (read with the chart; the table says the same in numbers)."""
    items = "".join(
        f'<li><svg class="key" viewBox="0 0 10 10" aria-hidden="true"><rect class="bar-{cls}" width="10" height="10"/>'
        f"</svg>{escape(name)}</li>"
        for cls, name in SERIES
    )
    return Markup(f'<ul class="legend">{items}</ul>')


__all__ = ["SERIES", "Bar", "Marker", "legend", "weekly_chart"]
