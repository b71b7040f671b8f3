"""Templates and the small helpers every page shares.

Jinja2 with autoescaping on for every template: names and subjects come from mail headers and
are hostile. Header text is also wrapped in ``<bdi>`` by the templates (a right-to-left override
in a name must not turn the rest of the line around) and clipped (``clip``): a 10 KB display
name is shown as its first few dozen characters.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from jinja2 import Environment, PackageLoader
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from kith.web.keys import Signer

NAV = (
    ("today", "/", "Today"),
    ("people", "/people", "People"),
    ("health", "/health", "Sync health"),
    ("reports", "/reports", "Reports"),
)


#: The short notes a redirect can ask a page to show (by key: a link cannot inject text).
NOTES = {
    "dismissed": "Marked done.",
    "snoozed": "Snoozed.",
    "merged": "Merged. The analysis is bringing their history together; this page shows it when done.",
    "unmerged": "Merge undone. The analysis is separating them again.",
    "loggedout": "Logged out.",
}


def clip(value: Any, limit: int = 80) -> str:
    """At most ``limit`` characters, with an ellipsis when cut."""
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def day(value: Any) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d")
    return value.isoformat() if isinstance(value, date) else ""


def when(value: Any) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if isinstance(value, datetime) else "never"


def days(value: Any) -> str:
    """``3.2`` -> "3 days"; None -> "—"."""
    if value is None:
        return "—"
    n = round(float(value))
    return "today" if n == 0 else "1 day" if n == 1 else f"{n} days"


def hours(value: Any) -> str:
    if value is None:
        return "—"
    h = float(value)
    return f"{h:.0f} h" if h < 48 else f"{h / 24:.1f} days"


def make_env() -> Environment:
    env = Environment(
        loader=PackageLoader("kith.web", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(clip=clip, day=day, when=when, days=days, hours=hours)
    env.globals["nav"] = NAV
    return env


class Pages:
    """Renders templates with what every page needs: the CSRF token, the nav, the flash note."""

    def __init__(self, env: Environment, signer: Signer) -> None:
        self.env, self.signer = env, signer

    def csrf(self, request: Request) -> str:
        session = request.state.session
        return self.signer.csrf(session) if session is not None else ""

    def render(self, request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("note", NOTES.get(request.query_params.get("note", ""), ""))
        context.setdefault("current", "")
        html = self.env.get_template(template).render(csrf=self.csrf(request), **context)
        return HTMLResponse(html, status_code=status)

    def fragment(self, template: str, request: Request, **context: Any) -> str:
        return self.env.get_template(template).render(csrf=self.csrf(request), **context)


def htmx(request: Request) -> bool:
    """An htmx request (it wants a fragment to swap in, not a whole page)."""
    return request.headers.get("hx-request") == "true"


def back(request: Request, default: str = "/", note: str = "") -> RedirectResponse:
    """303 to the form's ``next`` (a path of this site only) with a short note."""
    target = str(request.state.form.get("next") or default)
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = default
    if note:
        from urllib.parse import urlencode

        target += ("&" if "?" in target else "?") + urlencode({"note": note})
    return RedirectResponse(target, status_code=303)


__all__ = ["NAV", "NOTES", "Pages", "back", "clip", "day", "days", "hours", "htmx", "make_env", "when"]
