"""A local threaded HTTP server speaking the subset of Microsoft Graph (and its login) kith uses.

Endpoints (``{who}`` is ``me`` or ``users/{address}``):

- ``GET  /v1.0/{who}/mailFolders/{folder}/messages/delta`` (``$select``, ``$skiptoken``,
  ``$deltatoken``; ``Prefer: odata.maxpagesize=N``)
- ``GET  /v1.0/{who}/messages/{id}`` (``$select=internetMessageHeaders``, ``$expand`` of
  PidTagLastVerbExecuted)
- ``GET  /v1.0/{who}/calendarView/delta`` (``startDateTime``/``endDateTime`` on the first call)
- ``POST /v1.0/{who}/sendMail`` with a base64 MIME message and ``Content-Type: text/plain``
  (Graph's MIME send): ``202 Accepted``, no body; the message is kept in ``mailbox.sent`` and
  filed (see ``FakeMailbox.send_mime``), ``{who}`` in ``senders``. A From that is not the
  user's address is a 403 ``ErrorSendAsDenied``, as on Graph without send-as rights
- ``GET  /v1.0/{who}`` (the user), ``/v1.0/{who}/mailFolders`` and ``.../mailFolders/{id}``
  (``displayName``, ``totalItemCount``; well-known names resolve to their folder)
- ``POST /v1.0/$batch``: JSON batching, at most 20 requests, answered part by part
- the login endpoints of ``oauth.LoginEndpoints`` under ``/login/{tenant}/``

The limits of ``limits`` (with their sources) apply: at most 4 parts of a ``$batch`` run at once
for the mailbox (the rest answer 429 inside the 200 answer), ``dependsOn`` orders parts and a
failed dependency fails its dependents with 424, 10,000 requests per 10 minutes (batch parts
one by one; ``window``), and ``$select`` of a property a message does not have is a 400. A
``SimClock`` in ``sim`` makes every exchange cost simulated time (the batching benchmark).

Every Graph call needs ``Authorization: Bearer`` with a token this server issued (else 401
``InvalidAuthenticationToken``); ``/me`` with an app-only token is a 400 as on Graph. Tests
inject failures with ``fail(op, status, ...)`` (``messages.delta``, ``messages.get``,
``calendar.delta``, ``sendMail``, ``batch``, ``token``; Retry-After, delay), read ``requests`` (HTTP requests
by kind ``api``/``batch``/``login`` and ``total``), ``calls`` (Graph calls by op, batch parts
included), ``batch_sizes``, ``page_sizes`` (the maxpagesize each delta call asked for) and
``selects`` (the ``$select`` of each new delta round), and change ``mailbox``/``calendar``.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass
from typing import Any

from tests.fakes import http
from tests.fakes.graph.calendar import FakeCalendar
from tests.fakes.graph.limits import MAILBOX_CONCURRENCY, RequestWindow, SimClock, check_select, lanes
from tests.fakes.graph.mailbox import DEFAULT_PAGE, FakeMailbox, GraphError
from tests.fakes.graph.oauth import LoginEndpoints, Reply

MAX_BATCH = 20
_WHO = r"(me|users/[^/]+)"
_ROUTES: list[tuple[str, re.Pattern[str]]] = [
    ("messages.delta", re.compile(rf"^/v1\.0/{_WHO}/mailFolders/([^/]+)/messages/delta$")),
    ("messages.get", re.compile(rf"^/v1\.0/{_WHO}/messages/([^/]+)$")),
    ("calendar.delta", re.compile(rf"^/v1\.0/{_WHO}/calendarView/delta$")),
    ("folders.list", re.compile(rf"^/v1\.0/{_WHO}/mailFolders$")),
    ("folders.get", re.compile(rf"^/v1\.0/{_WHO}/mailFolders/([^/]+)$")),
    ("user.get", re.compile(rf"^/v1\.0/{_WHO}$")),
]
#: Routes answering POST (the others answer GET).
_POST_ROUTES: list[tuple[str, re.Pattern[str]]] = [
    ("sendMail", re.compile(rf"^/v1\.0/{_WHO}/sendMail$")),
]
_LOGIN = re.compile(
    r"^/login/([^/]+)/(v2\.0/\.well-known/openid-configuration|oauth2/v2\.0/token|oauth2/v2\.0/devicecode)$"
)


@dataclass
class Rule(http.Rule):
    """An injected failure; ``code`` is the Graph error code it answers with."""

    code: str | None = None


def _prefer(headers: dict[str, str]) -> dict[str, str]:
    out = {}
    for part in headers.get("prefer", "").split(","):
        name, _, value = part.strip().partition("=")
        if name:
            out[name.strip().lower()] = value.strip().strip('"')
    return out


class FakeGraph(http.FakeServer, LoginEndpoints):
    """The fake service; ``start()`` it, use ``api_url``/``url``, ``stop()`` it (or ``with``)."""

    rule_type = Rule

    def __init__(self, *, email: str = "me@example.com") -> None:
        super().__init__(_Handler, name="fake-graph")
        self.user_email = email
        self.mailbox = FakeMailbox(email=email)
        self.calendar = FakeCalendar(email=email)
        self.page_sizes: list[int] = []
        self.selects: list[str] = []
        #: The ``{who}`` of each accepted sendMail (``me`` or ``users/{address}``).
        self.senders: list[str] = []
        #: Simulated time (the batching benchmark); None: real time, no simulated costs.
        self.sim: SimClock | None = None
        self.concurrency = MAILBOX_CONCURRENCY
        #: Batch parts refused because more than ``concurrency`` ran at once.
        self.concurrency_refusals = 0
        self.window = RequestWindow(clock=lambda: self.sim() if self.sim else time.monotonic())
        self._init_login()

    @property
    def api_url(self) -> str:
        return self.url + "v1.0"

    def _clear_counts(self) -> None:
        super()._clear_counts()
        self.page_sizes.clear()
        self.selects.clear()

    # -- Graph --------------------------------------------------------------------------------

    def _maybe_fail(self, op: str) -> None:
        hit = self._fire(op)
        if hit is None:
            return
        assert isinstance(hit, Rule) and hit.status is not None
        code = hit.code or {429: "TooManyRequests", 503: "ServiceUnavailable", 504: "GatewayTimeout"}.get(
            hit.status, "InjectedFailure"
        )
        raise GraphError(hit.status, code, f"injected {hit.status}", headers=hit.headers())

    def _who(self, who: str, kind: str) -> None:
        if who == "me":
            if kind == "app":
                raise GraphError(400, "BadRequest", "/me request is only valid with delegated authentication flow.")
            return
        user = urllib.parse.unquote(who.split("/", 1)[1]).lower()
        if user != self.user_email:
            raise GraphError(404, "ErrorInvalidUser", f"The requested user '{user}' is invalid.")

    def call(
        self, method: str, target: str, headers: dict[str, str], token: str | None = None, content: bytes = b""
    ) -> Reply:
        """One Graph call (top level or a ``$batch`` part) → its reply."""
        parsed = urllib.parse.urlsplit(target)
        params = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query, keep_blank_values=True).items()}
        path = urllib.parse.unquote(parsed.path)
        if not path.startswith("/v1.0"):
            path = "/v1.0" + path  # batch parts are relative to the version root
        routes = _ROUTES if method == "GET" else _POST_ROUTES if method == "POST" else []
        found = next(((op, m) for op, rx in routes if (m := rx.match(path))), None)
        if found is None:
            return Reply.json(400, GraphError(400, "BadRequest", f"Resource not found for {method} {path}").body())
        op, m = found
        with self._lock:
            self.calls[op] += 1
        try:
            kind = self._authorized(headers if token is None else {"authorization": f"Bearer {token}"})
            self._maybe_fail(op)
            self._who(m.group(1), kind)
            wait = self.window.take()
            if wait is not None:
                raise GraphError(
                    429,
                    "ApplicationThrottled",
                    "Application is over its MailboxConcurrency limit.",
                    headers={"Retry-After": str(max(1, int(wait + 0.999)))},
                )
            if op in ("messages.get", "messages.delta") and "$select" in params:
                check_select(params["$select"])
            if op == "sendMail":
                self._send_mail(m.group(1), headers, content)
                return Reply(202, b"", {})
            prefer = _prefer(headers)
            size = int(prefer.get("odata.maxpagesize") or DEFAULT_PAGE)
            if op == "messages.get":
                return Reply.json(200, self.mailbox.get(m.group(2), params))
            if op == "folders.list":
                return Reply.json(200, self.mailbox.list_folders(params))
            if op == "folders.get":
                return Reply.json(200, self.mailbox.folder(m.group(2)))
            if op == "user.get":
                return Reply.json(
                    200, {"displayName": "Me", "mail": self.user_email, "userPrincipalName": self.user_email}
                )
            with self._lock:
                self.page_sizes.append(size)
                if not ("$skiptoken" in params or "$deltatoken" in params) and op == "messages.delta":
                    self.selects.append(params.get("$select", ""))
            if op == "messages.delta":
                items, follow = self.mailbox.delta(m.group(2), params, size)
            else:
                items, follow = self.calendar.delta(params, size)
        except GraphError as exc:
            return Reply.json(exc.status, exc.body(), exc.headers)
        base = self.url.rstrip("/") + parsed.path
        body: dict[str, Any] = {"@odata.context": f"{self.api_url}/$metadata#Collection(message)", "value": items}
        if "next" in follow:
            body["@odata.nextLink"] = f"{base}?$skiptoken={follow['next']}"
        else:
            body["@odata.deltaLink"] = f"{base}?$deltatoken={follow['delta']}"
        return Reply.json(200, body, {"Preference-Applied": f"odata.maxpagesize={size}"})

    def _send_mail(self, who: str, headers: dict[str, str], body: bytes) -> None:
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "text/plain":
            # Graph's JSON form ({"message": {...}}) exists too; kith sends MIME, so the fake only speaks MIME
            raise GraphError(
                400, "ErrorInvalidRequest", f"fake sendMail supports MIME (text/plain) only, not {ctype!r}"
            )
        self.mailbox.send_mime(body)
        with self._lock:
            self.senders.append(who)

    def _authorized(self, headers: dict[str, str]) -> str:
        auth = headers.get("authorization", "")
        token = auth[7:] if auth.lower().startswith("bearer ") else ""
        with self._lock:
            kind = self.access_tokens.get(token)
        if kind is None:
            raise GraphError(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
        return kind

    def batch(self, headers: dict[str, str], body: bytes) -> Reply:
        try:
            self._authorized(headers)
            self._maybe_fail("batch")
            requests = json.loads(body or b"{}").get("requests")
            if not isinstance(requests, list) or not requests:
                raise GraphError(400, "BadRequest", "Invalid batch payload format.")
            if len(requests) > MAX_BATCH:
                raise GraphError(400, "BadRequest", f"Number of batch requests exceeds {MAX_BATCH}.")
        except GraphError as exc:
            return Reply.json(exc.status, exc.body(), exc.headers)
        lane_of = lanes(requests)
        if isinstance(lane_of, str):
            return Reply.json(400, GraphError(400, "BadRequest", lane_of).body())
        with self._lock:
            self.batch_sizes.append(len(requests))
        token = headers.get("authorization", "")[7:]
        out = []
        status: dict[str, int] = {}
        ops: Counter[int] = Counter()
        for req in requests:
            rid = str(req.get("id"))
            lane = lane_of[rid]
            deps = [str(d) for d in req.get("dependsOn") or ()]
            if lane >= self.concurrency:
                with self._lock:
                    self.concurrency_refusals += 1
                err = GraphError(
                    429,
                    "ApplicationThrottled",
                    "Application is over its MailboxConcurrency limit.",
                    headers={"Retry-After": "1"},
                )
                reply = Reply.json(429, err.body(), err.headers)
            elif any(status.get(d, 0) >= 400 for d in deps):
                reply = Reply.json(424, GraphError(424, "FailedDependency", "Failed Dependency").body())
            else:
                part_headers = {k.lower(): str(v) for k, v in (req.get("headers") or {}).items()}
                reply = self.call(str(req.get("method", "GET")), str(req.get("url", "")), part_headers, token=token)
                ops[lane] += 1
            status[rid] = reply.status
            out.append(
                {"id": req.get("id"), "status": reply.status, "headers": reply.headers, "body": json.loads(reply.body)}
            )
        if self.sim is not None:
            self.sim.exchange(ops)
        return Reply.json(200, {"responses": out})


class _Handler(http.FakeHandler):
    fake: FakeGraph

    def do_GET(self) -> None:
        fake = self.fake
        if self._admin():
            return
        path = urllib.parse.urlsplit(self.path).path
        login = _LOGIN.match(path)
        if login:
            self._count("login")
            self._send(fake.openid_configuration(login.group(1)))
            return
        self._count("api")
        self._send(fake.call("GET", self.path, self._headers()))
        if fake.sim is not None:
            fake.sim.exchange()

    def do_POST(self) -> None:
        fake = self.fake
        body = self._body()
        path = urllib.parse.urlsplit(self.path).path
        headers = self._headers()
        login = _LOGIN.match(path)
        if login:
            self._count("login")
            form = {k: v[-1] for k, v in urllib.parse.parse_qs(body.decode()).items()}
            try:
                fake._maybe_fail("token")
            except GraphError as exc:
                self._send(Reply.json(exc.status, {"error": "temporarily_unavailable"}, exc.headers))
                return
            if login.group(2).endswith("devicecode"):
                self._send(fake.device_code(login.group(1), form))
            else:
                self._send(fake.token(login.group(1), form))
        elif urllib.parse.unquote(path) == "/v1.0/$batch":
            self._count("batch")
            self._send(fake.batch(headers, body))
        elif any(rx.match(urllib.parse.unquote(path)) for _, rx in _POST_ROUTES):
            self._count("api")
            self._send(fake.call("POST", self.path, headers, content=body))
        else:
            self._count("other")
            self._send(Reply.json(404, GraphError(404, "NotFound", f"no such endpoint {path}").body()))


__all__ = ["MAX_BATCH", "FakeGraph", "Rule"]
