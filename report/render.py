"""Turn the report data (plain, JSON-able) into a subject, a text part and an HTML part (its charts
are HTML bars, see ``charts``).

The data is built first and rendered second so that `kith report --json`, the terminal view and
the email all say the same thing. Templates are Jinja2 with autoescape on for HTML: names and
subjects come from other people's mail headers and must never become markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from kith.analysis import kinds
from kith.report import charts
from kith.report.formatting import FILTERS, display_name, waited, zone

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True, slots=True)
class Rendered:
    """One rendered report: what goes into the message, and what the CLI prints or writes."""

    subject: str
    text: str
    html: str


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=True, default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    return env


_ENV = _environment()


def subject_for(data: dict[str, Any]) -> str:
    """What to do, in the inbox list: counts per section and the longest-waiting person."""
    day = date.fromisoformat(data["date"]).strftime("%a %d %b")
    if data.get("empty"):
        return f"kith {day}: nothing needs your attention"
    parts = []
    for section in data["sections"]:
        if not section["total"]:
            continue
        kind = kinds.by_section(section["key"])
        if kind is kinds.UNANSWERED and section["items"]:
            first = section["items"][0]
            parts.append(
                f"{section['total']} {kind.tally} "
                f"({display_name(first['contact'])} waiting {waited(first.get('age_days'))})"
            )
        else:
            parts.append(f"{section['total']} {kind.tally if kind else section['title'].lower()}")
    if not parts and data.get("stage_changes", {}).get("total"):
        parts.append(f"{data['stage_changes']['total']} stage changes")
    if not data.get("sync", {}).get("healthy", True):
        parts.append("sync needs a look")
    return f"kith {day}: " + ", ".join(parts or ["nothing to act on"])


def render_report(data: dict[str, Any], *, timezone: str, charts_enabled: bool = True) -> Rendered:
    """Render ``data`` (from ``build_report``) with times shown in ``timezone``.

    Charts are left out on an empty day: the message is then one line, not one line and two
    charts of nothing.
    """
    zone(timezone)  # fail early, naming the key, on an unknown zone
    show = charts_enabled and not data.get("empty") and bool(data.get("weekly"))
    context = {
        "r": data,
        "tz": timezone,
        "weekly_bars": charts.weekly_bars(data["weekly"]) if show else [],
        "reply_bars": charts.reply_bars(data.get("reply_trend", []), data["numbers"].get("reply_median_90d_hours"))
        if show
        else [],
        "colours": {
            "in": charts.IN_COLOUR,
            "out": charts.OUT_COLOUR,
            "meetings": charts.MEETING_COLOUR,
            "reply": charts.REPLY_COLOUR,
            "slow": charts.SLOW_COLOUR,
        },
    }
    text = _ENV.get_template("report.txt.j2").render(context)
    html = _ENV.get_template("report.html.j2").render(context)
    return Rendered(subject=subject_for(data), text=text, html=html)


__all__ = ["Rendered", "render_report", "subject_for"]
