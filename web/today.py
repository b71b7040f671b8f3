"""The Today page and what its buttons do: *Done* (dismiss) and *Snooze* (tomorrow, a week, a date).

Each button is a plain form post (it works with JavaScript off: the server answers with a
redirect back to the page); with htmx the same post answers with the row's new state, which
replaces the row in place. Either way the flag's state is the analysis' (``kith flags --json``
shows it at once): the web app calls the same function as ``kith flags dismiss|snooze``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from kith.analysis import kinds
from kith.web import data
from kith.web.context import Context
from kith.web.render import back, htmx

#: How far ahead a snooze may go.
MAX_SNOOZE = timedelta(days=5 * 366)


def snooze_until(choice: str, typed: str, now: datetime) -> datetime:
    """The moment a snooze ends: midnight UTC of tomorrow, of a week from today, or of a date."""
    today = now.astimezone(UTC).date()
    if choice == "tomorrow":
        day = today + timedelta(days=1)
    elif choice == "week":
        day = today + timedelta(days=7)
    else:
        try:
            day = date.fromisoformat(typed.strip())
        except ValueError as exc:
            raise ValueError("pick a date (YYYY-MM-DD) to snooze until") from exc
        if day <= today:
            raise ValueError("a snooze ends in the future: pick a later date")
    until = datetime.combine(day, time(0), UTC)
    if until - now > MAX_SNOOZE:
        raise ValueError("that date is more than five years away")
    return until


def routes(ctx: Context) -> list[Route]:
    def today(request: Request) -> Response:
        show = request.query_params.get("show")
        with ctx.reading() as db:
            sections = data.today(db, ctx.config, ctx.clock(), show=show if kinds.by_section(show) else None)
        return ctx.pages.render(request, "today.html.j2", current="today", sections=sections, now=ctx.clock())

    def _answer(request: Request, flag_id: int, outcome: dict[str, object], message: str, key: str) -> Response:
        if htmx(request):
            html = ctx.pages.fragment("flag_done.html.j2", request, flag_id=flag_id, message=message, outcome=outcome)
            return HTMLResponse(html)
        return back(request, "/", note=key)

    def done(request: Request) -> Response:
        flag_id = int(request.path_params["flag_id"])
        try:
            with ctx.writing() as db:
                out = data.dismiss(db, flag_id, ctx.clock())
        except data.NotFound:
            return ctx.pages.render(request, "error.html.j2", status=404, title="No such flag", text="It may be gone.")
        return _answer(request, flag_id, out, "Done. It stays dismissed unless something new happens.", "dismissed")

    def snooze(request: Request) -> Response:
        flag_id = int(request.path_params["flag_id"])
        form = request.state.form
        now = ctx.clock()
        try:
            until = snooze_until(str(form.get("until", "")), str(form.get("date", "")), now)
        except ValueError as exc:
            if htmx(request):
                return HTMLResponse(
                    ctx.pages.fragment("flag_error.html.j2", request, flag_id=flag_id, text=str(exc)), status_code=422
                )
            return ctx.pages.render(request, "error.html.j2", status=422, title="Cannot snooze", text=str(exc))
        try:
            with ctx.writing() as db:
                out = data.snooze(db, flag_id, until, now)
        except data.NotFound:
            return ctx.pages.render(request, "error.html.j2", status=404, title="No such flag", text="It may be gone.")
        return _answer(request, flag_id, out, f"Snoozed until {until:%Y-%m-%d}.", "snoozed")

    return [
        Route("/", today, methods=["GET"]),
        Route("/flags/{flag_id:int}/done", done, methods=["POST"]),
        Route("/flags/{flag_id:int}/snooze", snooze, methods=["POST"]),
    ]


__all__ = ["routes", "snooze_until"]
