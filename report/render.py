"""Turn the report data (plain, JSON-able) into a subject, a text part, an HTML part and charts.

The data is built first and rendered second so that `kith report --json`, the terminal view and
the email all say the same thing. Templates are Jinja2 with autoescape on for HTML: names and
subjects come from other people's mail headers and must never become markup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from kith.report import charts
from kith.report.formatting import FILTERS, display_name, waited, zone

TEMPLATES = Path(__file__).parent / "templates"

#: Content-IDs of the inline charts (without angle brackets, as ``cid:`` URLs use them).
CID_WEEKLY = "weekly-chart@kith"
CID_REPLY = "reply-chart@kith"


@dataclass(frozen=True, slots=True)
class Rendered:
    """One rendered report: what goes into the message, and what the CLI prints or writes."""

    subject: str
    text: str
    html: str
    #: Content-ID (no brackets) -> PNG bytes, referenced from the HTML as ``cid:…``.
    images: dict[str, bytes] = field(default_factory=dict)


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
    by_key = {s["key"]: s for s in data["sections"]}
    respond = by_key.get("respond")
    if respond and respond["total"]:
        first = respond["items"][0]
        parts.append(
            f"{respond['total']} to answer ({display_name(first['contact'])} waiting {waited(first.get('age_days'))})"
        )
    for key, label in (
        ("broadcast_only", "only broadcast"),
        ("pull_back", "to pull back"),
        ("reconnect", "to reconnect"),
    ):
        section = by_key.get(key)
        if section and section["total"]:
            parts.append(f"{section['total']} {label}")
    if not parts and data.get("stage_changes", {}).get("total"):
        parts.append(f"{data['stage_changes']['total']} stage changes")
    if not data.get("sync", {}).get("healthy", True):
        parts.append("sync needs a look")
    return f"kith {day}: " + ", ".join(parts or ["nothing to act on"])


def render_report(data: dict[str, Any], *, timezone: str, charts_enabled: bool = True) -> Rendered:
    """Render ``data`` (from ``build_report``) with times shown in ``timezone``.

    Charts are left out on an empty day: the message is then one line, not one line and two
    pictures of nothing.
    """
    zone(timezone)  # fail early, naming the key, on an unknown zone
    images: dict[str, bytes] = {}
    if charts_enabled and not data.get("empty") and data.get("weekly"):
        images[CID_WEEKLY] = charts.weekly_chart(data["weekly"])
        images[CID_REPLY] = charts.reply_chart(
            data.get("reply_trend", []), data["numbers"].get("reply_median_90d_hours")
        )
    context = {"r": data, "tz": timezone, "images": images, "cid_weekly": CID_WEEKLY, "cid_reply": CID_REPLY}
    text = _ENV.get_template("report.txt.j2").render(context)
    html = _ENV.get_template("report.html.j2").render(context)
    return Rendered(subject=subject_for(data), text=text, html=html, images=images)


def html_with_files(rendered: Rendered, names: dict[str, str]) -> str:
    """The HTML with ``cid:`` references replaced by file names, for a copy written to disk."""
    html = rendered.html
    for cid, name in names.items():
        html = html.replace(f'src="cid:{cid}"', f'src="{name}"')
    return html


__all__ = ["CID_REPLY", "CID_WEEKLY", "Rendered", "html_with_files", "render_report", "subject_for"]
