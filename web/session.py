"""Logging in with the one-time link and out again.

``/login?token=…`` crosses the token off (it works once, for ``LOGIN_TTL`` seconds) and sets the
session cookie: HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it),
Secure under TLS, for ``[web] session_lifetime``. Then it redirects to Today, so the token does
not stay in the address bar or the history entry of the page.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from kith.web.context import Context
from kith.web.guard import COOKIE
from kith.web.keys import Signer, consume_login


def routes(ctx: Context, signer: Signer) -> list[Route]:
    def login(request: Request) -> Response:
        token = request.query_params.get("token")
        if not consume_login(ctx.state_dir, token):
            return ctx.pages.render(
                request,
                "error.html.j2",
                status=401,
                title="This login link does not work",
                text="Login links work once and for ten minutes. Run `kith web --open` (or `kith web --url-only`) "
                "for a new one.",
            )
        _, value = signer.new_session()
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            COOKIE,
            value,
            max_age=int(signer.lifetime),
            httponly=True,
            samesite="strict",
            secure=ctx.secure,
            path="/",
        )
        return response

    def logout(request: Request) -> Response:
        response = RedirectResponse("/login?note=loggedout", status_code=303)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=ctx.secure)
        return response

    return [Route("/login", login, methods=["GET"]), Route("/logout", logout, methods=["POST"])]


__all__ = ["routes"]
