"""The People page (search, sort, filter, pages) and the Person page (the whole relationship,
its chart, its conversations, its flags) with *Merge* and *Undo*.

A merge is the user's decision, stored (``contact_merges``); the analysis applies it, so the
page asks for an analysis run and says so until the run is done.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kith.web import data
from kith.web.charts import Bar, Marker, legend, weekly_chart
from kith.web.context import Context
from kith.web.render import back, htmx


def routes(ctx: Context) -> list[Route]:
    def people(request: Request) -> Response:
        p = request.query_params
        try:
            page = max(1, min(10_000, int(p.get("page", "1"))))
        except ValueError:
            page = 1
        args = {
            "text": p.get("q", "")[:200],
            "sort": p.get("sort", "attention"),
            "stage": p.get("stage", ""),
            "mailbox": p.get("mailbox", "")[:200],
            "automated": p.get("automated", "no"),
        }
        with ctx.reading() as db:
            found = data.people_page(db, page=page, **args)
        keep = {
            k: v
            for k, v in (("q", args["text"]), *((k, args[k]) for k in ("sort", "stage", "mailbox", "automated")))
            if v
        }
        template = (
            "people_rows.html.j2"
            if htmx(request) and request.headers.get("hx-target") == "results"
            else "people.html.j2"
        )
        return ctx.pages.render(
            request,
            template,
            current="people",
            found=found,
            args=args,
            page=page,
            prev_url=f"/people?{urlencode({**keep, 'page': page - 1})}" if page > 1 else None,
            next_url=f"/people?{urlencode({**keep, 'page': page + 1})}" if found.more else None,
        )

    def person(request: Request) -> Response:
        address = request.query_params.get("a", "")[:500]
        all_conversations = request.query_params.get("conversations") == "all"
        try:
            with ctx.reading() as db:
                found = data.person(db, ctx.config, address, ctx.clock(), all_conversations=all_conversations)
        except data.NotFound:
            return ctx.pages.render(
                request,
                "error.html.j2",
                status=404,
                title="No such person",
                text="Nobody with that address; the People page lists everyone.",
            )
        name = found["contact"]["name"] or found["contact"]["address"]
        bars = [Bar(w.start, (w.inbound, w.outbound, w.meetings)) for w in found["weeks"]]
        markers = [
            Marker(c.at.date(), f"{c.at:%Y-%m-%d}: {c.before or 'new'} → {c.after}") for c in found["stage_changes"]
        ]
        totals = found["totals"]
        first = found["weeks"][0].start if found["weeks"] else None
        desc = (
            f"Over the {len(bars)} weeks from {first} : {totals['in']} personal messages received, "
            f"{totals['out']} sent and {totals['meetings']} meetings; "
            f"{len(markers)} stage changes marked and numbered, listed below the chart."
        )
        chart = weekly_chart(bars, markers, ident="weekly", title=f"Interactions per week with {name[:80]}", desc=desc)
        return ctx.pages.render(
            request,
            "person.html.j2",
            current="people",
            p=found,
            chart=chart,
            legend=legend(),
            markers=markers,
            analyzing=ctx.analyzing(),
            busy_weeks=[w for w in found["weeks"] if w.inbound or w.outbound or w.meetings],
            week=timedelta(days=6),
        )

    def merge(request: Request) -> Response:
        form = request.state.form
        target, other = str(form.get("a", "")), str(form.get("other", ""))
        try:
            with ctx.writing() as db:
                data.merge(db, other, target, ctx.clock())
        except (data.NotFound, ValueError) as exc:
            return ctx.pages.render(request, "error.html.j2", status=422, title="Cannot merge", text=str(exc))
        ctx.analyze()
        return back(request, f"/person?{urlencode({'a': target})}", note="merged")

    def undo(request: Request) -> Response:
        try:
            with ctx.writing() as db:
                data.undo_merge(db, int(request.path_params["merge_id"]), ctx.clock())
        except data.NotFound as exc:
            return ctx.pages.render(request, "error.html.j2", status=404, title="Nothing to undo", text=str(exc))
        ctx.analyze()
        return back(request, "/people", note="unmerged")

    def analysis(request: Request) -> Response:
        """The Person page's note while the analysis it asked for runs (htmx polls it)."""
        running = ctx.analyzing()
        return ctx.pages.render(request, "analysis_status.html.j2", analyzing=running, finished=not running)

    return [
        Route("/analysis", analysis, methods=["GET"]),
        Route("/people", people, methods=["GET"]),
        Route("/person", person, methods=["GET"]),
        Route("/merges", merge, methods=["POST"]),
        Route("/merges/{merge_id:int}/undo", undo, methods=["POST"]),
    ]


__all__ = ["routes"]
