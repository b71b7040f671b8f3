"""The gate every request passes: login cookie, CSRF token, body limits and security headers.

One ASGI middleware, in front of every route, so that no page can forget a check:

- **Security headers** on every answer, refusals included: a strict Content-Security-Policy
  (scripts and styles only from this origin, no inline script, no eval, nothing framed, forms
  post only here), ``nosniff``, ``no-referrer`` (a page's address holds contact addresses) and
  ``no-store`` for pages.
- **Login**: without a valid session cookie every path but ``/login`` and ``/static/`` answers
  401 with a page that says how to get in (``kith web --open``).
- **CSRF**: every request that is not GET/HEAD must carry the session's CSRF token, in the
  ``csrf`` form field or the ``X-CSRF-Token`` header, or it is refused with 403 before any route
  sees it. Bodies are read here (form-encoded only, at most ``MAX_BODY`` bytes), parsed once and
  handed to the route in ``request.state.form``.

- **Host**: the Host header must name this server (loopback names, the listen address,
  ``[web] allowed_hosts``), or the request is refused with 400 before anything else: a page of
  another site whose name was re-pointed at 127.0.0.1 (DNS rebinding) gets nothing. (Starlette's
  ``TrustedHostMiddleware`` cuts ``[::1]:8477`` at its first colon, so the check is here.)
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl

from kith.web.keys import Signer

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

COOKIE = "kith_session"
MAX_BODY = 64 * 1024
SAFE_METHODS = frozenset({"GET", "HEAD"})
#: Reachable without the cookie: the login link itself, the style/script files, and the report's
#: signed action links (their token is the permission: kith.web.act).
OPEN_PREFIXES = ("/login", "/static/", "/act/")
#: Posts that carry their own proof instead of the session's CSRF token.
SELF_PROVING = ("/login", "/act/")

CSP = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def host_name(header: str | None) -> str:
    """The name of a Host header without its port: ``[::1]:8477`` -> ``[::1]``, ``Kith:80`` -> ``kith``."""
    value = (header or "").strip().lower()
    if value.startswith("["):
        return value[: value.find("]") + 1] if "]" in value else ""
    return value.split(":", 1)[0]


def session_cookie(scope: Scope) -> str | None:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # a malformed Cookie header is no login
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None else None


def refusal(status: int, title: str, text: str) -> tuple[int, bytes]:
    """A tiny self-contained HTML page (no template: it must work whatever else is broken)."""
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{html.escape(title)} · kith</title><link rel="stylesheet" href="/static/kith.css"></head>'
        f'<body><main id="main" class="narrow"><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></main>'
        "</body></html>"
    )
    return status, body.encode()


class Guard:
    """The ASGI middleware described in the module docstring."""

    def __init__(self, app: ASGIApp, signer: Signer, *, secure: bool, hosts: Iterable[str]) -> None:
        self.app, self.signer, self.secure = app, signer, secure
        self.hosts = frozenset(h.lower() for h in hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in HEADERS if k not in present]
                if not path.startswith("/static/") and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        if host_name(_header(scope, b"host")) not in self.hosts:
            await self._refuse(
                send_with_headers,
                400,
                "Unknown host name",
                "This server answers only to the names it is configured for.",
            )
            return
        session = self.signer.session(session_cookie(scope))
        state = scope.setdefault("state", {})
        state["session"] = session
        method = scope.get("method", "GET")
        if session is None and not path.startswith(OPEN_PREFIXES):
            await self._refuse(
                send_with_headers,
                401,
                "Log in first",
                "This page needs the login link: run `kith web --open` (or `kith web --url-only` when "
                "`kith run` serves the app) and open the link it prints.",
            )
            return
        if method in SAFE_METHODS:
            await self.app(scope, receive, send_with_headers)
            return
        body = await self._body(receive)
        if body is None:
            await self._refuse(send_with_headers, 413, "Too large", "That request was larger than a form can be.")
            return
        ctype = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
        if body and ctype != "application/x-www-form-urlencoded":
            await self._refuse(send_with_headers, 415, "Not a form", "Only form posts are accepted here.")
            return
        try:
            form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=50))
        except (UnicodeDecodeError, ValueError):
            await self._refuse(send_with_headers, 400, "Bad form", "The form could not be read.")
            return
        state["form"] = form
        token = form.get("csrf") or _header(scope, b"x-csrf-token")
        if not path.startswith(SELF_PROVING) and (session is None or not self.signer.csrf_ok(session, token)):
            await self._refuse(
                send_with_headers,
                403,
                "Refused",
                "This form has no valid CSRF token (it may be from an old page, or from another site). "
                "Reload the page and try again.",
            )
            return
        await self.app(scope, _replay(body), send_with_headers)

    async def _body(self, receive: Receive) -> bytes | None:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _refuse(self, send: Send, status: int, title: str, text: str) -> None:
        code, body = refusal(status, title, text)
        headers = [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": code, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _replay(body: bytes) -> Receive:
    """A ``receive`` that hands the already-read body to the app once, then waits as usual."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


__all__ = ["COOKIE", "CSP", "Guard", "MAX_BODY", "host_name", "refusal", "session_cookie"]
