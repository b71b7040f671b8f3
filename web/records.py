"""Sync health (every mailbox and stream, errors with their fixes, recorded problems, recent
runs) and Reports (the nightly reports as they were sent, rendered from what they were built of).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from kith.web import data
from kith.web.context import Context

#: The sent report is mail HTML (inline styles, tables); it is shown in a sandboxed frame with
#: a policy of its own: no script at all, styles inline, images only as data: URLs.
REPORT_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"


def routes(ctx: Context) -> list[Route]:
    def health(request: Request) -> Response:
        with ctx.reading() as db:
            found = data.health(db, ctx.config, ctx.clock())
        return ctx.pages.render(request, "health.html.j2", current="health", h=found)

    def reports(request: Request) -> Response:
        with ctx.reading() as db:
            found = data.reports(db)
        return ctx.pages.render(request, "reports.html.j2", current="reports", reports=found)

    def _row(request: Request) -> dict[str, object] | None:
        try:
            with ctx.reading() as db:
                return data.report(db, int(request.path_params["report_id"]))
        except data.NotFound:
            return None

    def report(request: Request) -> Response:
        row = _row(request)
        if row is None:
            return ctx.pages.render(request, "error.html.j2", status=404, title="No such report", text="")
        return ctx.pages.render(request, "report.html.j2", current="reports", r=row)

    def report_mail(request: Request) -> Response:
        row = _row(request)
        if row is None:
            return PlainTextResponse("no such report", status_code=404)
        html, text = data.report_html(row, ctx.config.settings.report.timezone)
        if request.path_params.get("fmt") == "txt":
            return PlainTextResponse(text)
        return HTMLResponse(html, headers={"content-security-policy": REPORT_CSP, "x-frame-options": "SAMEORIGIN"})

    return [
        Route("/health", health, methods=["GET"]),
        Route("/reports", reports, methods=["GET"]),
        Route("/reports/{report_id:int}", report, methods=["GET"]),
        Route("/reports/{report_id:int}/mail.{fmt:str}", report_mail, methods=["GET"]),
    ]


__all__ = ["REPORT_CSP", "routes"]
