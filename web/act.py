"""The report's signed web links (``[web] public_url``): ``/act/{flag}/{action}/{token}``.

They work without a login, from a phone that never signed in: the token (the same HMAC as the
mailto: commands, ``kith.analysis.commands``) is the permission, and it names one action on one
flag until its expiry. The same rules hold as by mail (genuine, not expired, once only, shared
with the mail commands: a token used by mail is used here too). A GET only shows what the link
would do, with a button; the POST does it. Link scanners and previews in mail apps fetch GETs,
so a GET must never act. The guard lets ``/act/`` through without a session or a CSRF token:
a page elsewhere cannot post here without a token, and it cannot get one.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kith.analysis import api as analysis
from kith.analysis.acting import attempt, judge
from kith.analysis.commands import KEY_FILE, MAX_FLAG_ID, TOKEN_CHARS, Action, Command
from kith.config.secrets import state_key
from kith.store.commands import log_command
from kith.store.faults import describe
from kith.web.context import Context

PREFIX = "/act/"
#: What a refused link says (never which part of the token was wrong).
REFUSED = {
    "forged": "This link is not valid.",
    "expired": "This link has expired. The next report has fresh ones.",
    "replayed": "This link was used already.",
    "duplicate": "This link was used already.",
    # the same words as a forgery: a stranger probing numbers must not learn which flags exist
    "unknown flag": "This link is not valid.",
    "flag closed": "That item is closed already: nothing changed.",
}
#: The database's words for a write lock it waited for in vain (SQLite: another writer, a sync's
#: long batch, held past the busy timeout; PostgreSQL: a lock timeout or a deadlock).
_BUSY = ("locked", "busy", "lock timeout", "deadlock")


def routes(ctx: Context) -> list[Route]:
    def command(request: Request) -> Command | None:
        action = Action.from_slug(str(request.path_params["action"]))
        token = str(request.path_params["token"])
        flag_id = int(request.path_params["flag_id"])
        if action is None or len(token) != TOKEN_CHARS or not 0 < flag_id <= MAX_FLAG_ID:
            return None
        return Command(flag_id, action, token)

    def refuse(request: Request, why: str) -> Response:
        return ctx.pages.render(request, "act.html.j2", status=403, title="Nothing done", text=REFUSED[why])

    def show(request: Request) -> Response:
        cmd = command(request)
        if cmd is None:
            return refuse(request, "forged")
        with ctx.reading() as db:
            verdict = judge(db.connection(), state_key(ctx.state_dir, KEY_FILE), cmd, "web", ctx.clock())
            if verdict != "ok":
                return refuse(request, verdict)
            try:
                flag = analysis.history(db, cmd.flag_id)
            except analysis.UnknownFlag:
                return refuse(request, "unknown flag")
        return ctx.pages.render(
            request,
            "act.html.j2",
            title=f"{cmd.action.label}?",
            text=f"{flag['kind'].replace('_', ' ')}: {flag['contact']}",
            confirm=cmd.action.label,
            action_path=request.url.path,
        )

    def do(request: Request) -> Response:
        cmd = command(request)
        if cmd is None:
            return refuse(request, "forged")
        now = ctx.clock()

        def record() -> str:
            with ctx.writing() as db:
                conn = db.connection()
                key = state_key(ctx.state_dir, KEY_FILE)
                outcome = attempt(conn, key, cmd, "web", now, by=f"on the web at {now:%Y-%m-%d %H:%M} UTC")
                log_command(conn, at=now, via="web", outcome=outcome, flag_id=cmd.flag_id, action=cmd.action.value)
            return outcome

        try:
            try:
                outcome = record()
            except IntegrityError:  # a double tap, or the same token by mail, used it between our look and our write
                outcome = record()  # now it sees it
        except OperationalError as exc:  # nothing was written: the link still works
            if not any(words in describe(exc).lower() for words in _BUSY):
                raise
            text = "Busy right now: nothing was done. Try again in a moment."
            page = ctx.pages.render(request, "act.html.j2", status=503, title="Try again", text=text)
            page.headers["Retry-After"] = "5"
            return page
        if outcome != "applied":
            return refuse(request, outcome)
        return ctx.pages.render(request, "act.html.j2", title="Done", text=f"{cmd.action.label}: done.")

    path = PREFIX + "{flag_id:int}/{action}/{token}"
    return [Route(path, show, methods=["GET"]), Route(path, do, methods=["POST"])]


__all__ = ["PREFIX", "routes"]
