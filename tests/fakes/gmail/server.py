"""A local HTTP server speaking the subset of the Gmail, Calendar and OAuth wire formats kith uses.

The real client libraries (google-api-python-client with its static discovery documents,
google-auth, google-auth-oauthlib) are pointed at it with ``api_endpoint``/``token_uri``, so what
is tested is the connector as it will run, minus Google.

Endpoints (paths as the discovery documents and Google's batch guide give them):

- ``GET  /gmail/v1/users/{userId}/profile|messages|messages/{id}|history|labels|labels/{id}``
- ``POST /gmail/v1/users/{userId}/messages/send``: ``{"raw": base64url RFC 822}``; needs a token
  with a scope that may send (gmail.send, gmail.compose, gmail.modify, mail.google.com), else 403
  ``insufficientPermissions``; the message is kept in ``mailbox.sent`` and filed (see
  ``FakeMailbox.send_message``)
- ``POST /batch/gmail/v1`` (also ``/batch``): ``multipart/mixed`` of ``application/http`` parts,
  at most 100, answered part by part with ``Content-ID: <response-…>``
- ``GET  /calendar/v3/calendars/{calendarId}/events``
- ``POST /token``: ``refresh_token``, ``authorization_code`` and the service-account JWT grant;
  ``GET /auth``: the consent screen, answered with the redirect a user's browser would follow

Every API call needs ``Authorization: Bearer`` with a token this server issued (else 401).

Refusals real Gmail makes, each with its source:

- a token carrying ``gmail.metadata`` may not send ``q`` to ``messages.list`` (403 "Metadata
  scope does not support 'q' parameter") nor ask ``messages.get`` for ``format=full|raw`` (403
  "Metadata scope doesn't allow format FULL"; full is the default format). The users.messages
  reference says so of ``q``; the refusal holds even when gmail.readonly is granted too
  (googleapis/google-api-python-client#582, Google issue tracker 115621456);
- a batch of more than ``MAX_BATCH`` (100) parts is a 400 (Gmail batching guide: "You're
  limited to 100 calls in a single batch request");
- the parts of one batch run at once, and past ``concurrent_limit`` parts for one user the
  rest answer 429 ``rateLimitExceeded`` "Too many concurrent requests for user." inside the
  200 batch answer (googleapis/google-api-dotnet-client#1982, GAM-team/got-your-back#121; the
  batching guide: "Larger batch sizes are likely to trigger rate limiting. Sending batches
  larger than 50 requests is not recommended"). The default, 25, is what amd/gaia#2720 measured
  a live mailbox to accept (100 and 50 were refused, 25 went through);
- refresh tokens of an OAuth client in "Testing" publishing status expire 7 days after consent
  (``testing_status``; Google's OAuth guide, "Refresh token expiration"): ``invalid_grant``.
Tests inject failures with ``fail(op, ...)`` (status, Retry-After, reason, delay), read request
counts (``requests``: HTTP requests by kind ``api``/``batch``/``token``/``auth`` and ``total``;
``calls``: API calls by method, batch parts included; ``units``: Gmail quota units as Google's
table prices them), and change the mailbox through ``mailbox``/``calendar``.
"""

from __future__ import annotations

import itertools
import json
import re
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import compat32
from typing import Any

from tests.fakes import http
from tests.fakes.gmail.calendar import FakeCalendar
from tests.fakes.gmail.mailbox import ApiError, FakeMailbox
from tests.fakes.gmail.oauth import OAuthEndpoints, Reply

#: Quota units per method (Gmail API "Usage limits" table); calendar calls count one each.
UNITS = {
    "getProfile": 1,
    "labels.list": 1,
    "labels.get": 1,
    "messages.list": 5,
    "messages.get": 5,
    "messages.send": 100,
    "history.list": 2,
    "events.list": 1,
}
MAX_BATCH = 100
#: Parts of one batch the fake runs at once for one user; the rest are refused with 429.
CONCURRENT_LIMIT = 25
SCOPE_METADATA = "https://www.googleapis.com/auth/gmail.metadata"
#: Scopes with which ``users.messages.send`` is allowed (Gmail API scope table).
SEND_SCOPES = frozenset(
    {
        "https://www.googleapis.com/auth/gmail.send",
        "https://www.googleapis.com/auth/gmail.compose",
        "https://www.googleapis.com/auth/gmail.modify",
        "https://mail.google.com/",
    }
)

_ROUTES: list[tuple[str, str, re.Pattern[str]]] = [
    ("getProfile", "GET", re.compile(r"^/gmail/v1/users/([^/]+)/profile$")),
    ("messages.list", "GET", re.compile(r"^/gmail/v1/users/([^/]+)/messages$")),
    ("messages.send", "POST", re.compile(r"^/gmail/v1/users/([^/]+)/messages/send$")),
    ("messages.get", "GET", re.compile(r"^/gmail/v1/users/([^/]+)/messages/([^/]+)$")),
    ("history.list", "GET", re.compile(r"^/gmail/v1/users/([^/]+)/history$")),
    ("labels.list", "GET", re.compile(r"^/gmail/v1/users/([^/]+)/labels$")),
    ("labels.get", "GET", re.compile(r"^/gmail/v1/users/([^/]+)/labels/([^/]+)$")),
    ("events.list", "GET", re.compile(r"^/calendar/v3/calendars/([^/]+)/events$")),
]


@dataclass
class Rule(http.Rule):
    """An injected failure; ``reason`` is the Google error reason it answers with."""

    reason: str | None = None


_REASON_PHRASES = {200: "OK", 302: "Found", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}


class FakeGoogle(http.FakeServer, OAuthEndpoints):
    """The fake service; ``start()`` it, use ``url``, ``stop()`` it (or use it as a context manager)."""

    rule_type = Rule

    def __init__(self, *, email: str = "me@example.com") -> None:
        super().__init__(_Handler, name="fake-google")
        self.mailbox = FakeMailbox(email=email)
        self.calendar = FakeCalendar()
        self.units = 0
        self.access_tokens: dict[str, dict[str, Any]] = {}
        self.refresh_tokens: dict[str, list[str]] = {}
        self.codes: dict[str, list[str]] = {}
        self.token_grants: Counter[str] = Counter()
        self.subjects: list[str] = []
        self.concurrent_limit = CONCURRENT_LIMIT
        #: Batch parts refused for concurrency (429 "Too many concurrent requests for user").
        self.concurrency_refusals = 0
        #: The OAuth client is in "Testing" publishing status: refresh tokens live 7 days.
        self.testing_status = False
        #: When each refresh token was issued (seconds since the epoch).
        self.refresh_issued: dict[str, float] = {}
        self._seq = itertools.count(1)

    @property
    def calendar_url(self) -> str:
        return self.url + "calendar/v3/"

    @property
    def token_uri(self) -> str:
        return self.url + "token"

    # -- admin --------------------------------------------------------------------------------

    def issue_tokens(
        self, scopes: tuple[str, ...] = (SCOPE_METADATA,), *, issued_at: float | None = None
    ) -> tuple[str, str]:
        """A fresh (access token, refresh token) pair, as a completed consent would give.

        ``issued_at`` backdates the consent (a test of the 7-day Testing-status expiry).
        """
        n = next(self._seq)
        access, refresh = f"ya29.fake-{n}", f"1//fake-refresh-{n}"
        with self._lock:
            self.access_tokens[access] = {"scopes": list(scopes)}
            self.refresh_tokens[refresh] = list(scopes)
            self.refresh_issued[refresh] = time.time() if issued_at is None else issued_at
        return access, refresh

    def expire_access_tokens(self) -> None:
        with self._lock:
            self.access_tokens.clear()

    def revoke(self, refresh_token: str | None = None) -> None:
        """Revoke one refresh token (or all) and every access token: the user removed the app."""
        with self._lock:
            if refresh_token is None:
                self.refresh_tokens.clear()
            else:
                self.refresh_tokens.pop(refresh_token, None)
            self.access_tokens.clear()

    def _clear_counts(self) -> None:
        super()._clear_counts()
        self.units = 0

    def counts(self) -> dict[str, Any]:
        with self._lock:
            return {"requests": dict(self.requests), "calls": dict(self.calls), "units": self.units}

    # -- request handling -----------------------------------------------------------------------

    def _maybe_fail(self, op: str) -> None:
        hit = self._fire(op)
        if hit is None:
            return
        assert isinstance(hit, Rule) and hit.status is not None
        reason = hit.reason or {429: "rateLimitExceeded", 401: "authError", 403: "forbidden"}.get(
            hit.status, "backendError"
        )
        message = {401: "Request had invalid authentication credentials."}.get(
            hit.status, f"injected {hit.status} ({reason})"
        )
        raise ApiError(hit.status, reason, message, headers=hit.headers())

    def _authorized(self, headers: dict[str, str]) -> list[str]:
        """The scopes of the request's bearer token; 401 if this server did not issue it."""
        auth = headers.get("authorization", "")
        token = auth[7:] if auth.lower().startswith("bearer ") else ""
        with self._lock:
            grant = self.access_tokens.get(token)
        if grant is None:
            raise ApiError(
                401,
                "authError",
                "Request had invalid authentication credentials. Expected OAuth 2 access token.",
                headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
            )
        return list(grant.get("scopes") or ())

    def call(self, method: str, target: str, headers: dict[str, str], body: bytes = b"") -> Reply:
        """One API call (top level or a batch part) → its reply."""
        parsed = urllib.parse.urlsplit(target)
        params = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        path = urllib.parse.unquote(parsed.path)
        found = _route(method, path)
        if found is None:
            return Reply.json(404, ApiError(404, "notFound", f"no such method: {method} {path}").body())
        op, m = found
        with self._lock:
            self.calls[op] += 1
            self.units += UNITS.get(op, 1)
        try:
            scopes = self._authorized(headers)
            self._maybe_fail(op)
            if op != "events.list" and m.group(1) not in ("me", self.mailbox.email):
                raise ApiError(403, "forbidden", "Delegation denied for " + m.group(1))
            _metadata_limits(op, params, scopes)
            if op == "messages.send":
                if not SEND_SCOPES & set(scopes):
                    raise ApiError(403, "insufficientPermissions", "Request had insufficient authentication scopes.")
                data = self.mailbox.send_message(_json_body(body))
            elif op == "getProfile":
                data = self.mailbox.profile()
            elif op == "messages.list":
                data = self.mailbox.list_messages(params)
            elif op == "messages.get":
                data = self.mailbox.get_message(m.group(2), params)
            elif op == "history.list":
                data = self.mailbox.list_history(params)
            elif op == "labels.list":
                data = self.mailbox.labels()
            elif op == "labels.get":
                data = self.mailbox.label(m.group(2))
            else:
                data = self.calendar.list_events(m.group(1), params)
        except ApiError as exc:
            return Reply.json(exc.status, exc.body(), exc.headers)
        return Reply.json(200, data)

    def batch(self, headers: dict[str, str], body: bytes) -> Reply:
        try:
            self._authorized(headers)
            self._maybe_fail("batch")
        except ApiError as exc:
            return Reply.json(exc.status, exc.body(), exc.headers)
        ctype = headers.get("content-type", "")
        msg = BytesParser(policy=compat32).parsebytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
        parts: list[Any] = list(msg.get_payload()) if msg.is_multipart() else []  # type: ignore[arg-type]
        if not parts:
            return Reply.json(400, ApiError(400, "badRequest", "batch body is not multipart/mixed").body())
        if len(parts) > MAX_BATCH:
            return Reply.json(
                400, ApiError(400, "badRequest", f"Too many requests in batch ({len(parts)} > {MAX_BATCH})").body()
            )
        with self._lock:
            self.batch_sizes.append(len(parts))
        boundary = f"batch_{next(self._seq)}_fake"
        out: list[bytes] = []
        for n, part in enumerate(parts):
            cid = part.get("Content-ID", "")
            raw = part.get_payload(decode=False)
            raw_bytes = raw.encode("latin-1") if isinstance(raw, str) else bytes(raw)
            head, _, sub_body = raw_bytes.replace(b"\r\n", b"\n").partition(b"\n\n")
            lines = head.decode("latin-1").split("\n")
            method, target, _version = [*lines[0].split(" "), "", ""][:3]
            sub_headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
            if n >= self.concurrent_limit:
                with self._lock:
                    self.concurrency_refusals += 1
                err = ApiError(429, "rateLimitExceeded", "Too many concurrent requests for user.")
                reply = Reply.json(429, err.body())
            else:
                reply = self.call(method, target, sub_headers, sub_body)
            status_line = f"HTTP/1.1 {reply.status} {_REASON_PHRASES.get(reply.status, 'Error')}"
            hdrs = "".join(f"{k}: {v}\r\n" for k, v in reply.headers.items())
            out.append(
                f"--{boundary}\r\nContent-Type: application/http\r\nContent-ID: <response-{cid.strip('<>')}>\r\n\r\n"
                f"{status_line}\r\n{hdrs}Content-Length: {len(reply.body)}\r\n\r\n".encode()
                + reply.body
                + b"\r\n"
            )
        out.append(f"--{boundary}--\r\n".encode())
        return Reply(200, b"".join(out), {"Content-Type": f"multipart/mixed; boundary={boundary}"})


def _metadata_limits(op: str, params: dict[str, list[str]], scopes: list[str]) -> None:
    """What a token with gmail.metadata may not ask for (see the module docstring)."""
    if SCOPE_METADATA not in scopes:
        return
    if op == "messages.list" and "q" in params:
        raise ApiError(403, "forbidden", "Metadata scope does not support 'q' parameter")
    if op == "messages.get":
        fmt = (params.get("format") or ["full"])[-1].lower()
        if fmt in ("full", "raw"):
            raise ApiError(403, "forbidden", f"Metadata scope doesn't allow format {fmt.upper()}")


def _route(method: str, path: str) -> tuple[str, re.Match[str]] | None:
    for op, verb, pattern in _ROUTES:
        m = pattern.match(path)
        if m and verb == method:
            return op, m
    return None


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError as exc:
        raise ApiError(400, "parseError", "Parse Error") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "invalidArgument", "Invalid JSON payload received.")
    return data


class _Handler(http.FakeHandler):
    fake: FakeGoogle

    def do_GET(self) -> None:
        fake = self.fake
        if self._admin():
            return
        kind = "auth" if self.path.startswith("/auth") else "api"
        self._count(kind)
        if kind == "auth":
            self._send(fake.consent(urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)))
            return
        self._send(fake.call("GET", self.path, self._headers()))

    def do_POST(self) -> None:
        fake = self.fake
        body = self._body()
        path = urllib.parse.urlsplit(self.path).path
        kind = (
            "token"
            if path == "/token"
            else "batch"
            if path.startswith("/batch")
            else "api"
            if path.startswith("/gmail/")
            else "other"
        )
        self._count(kind)
        headers = self._headers()
        if path == "/token":
            form = {k: v[-1] for k, v in urllib.parse.parse_qs(body.decode()).items()}
            self._send(fake.token(form))
        elif path in ("/batch/gmail/v1", "/batch", "/batch/calendar/v3"):
            self._send(fake.batch(headers, body))
        elif kind == "api":
            self._send(fake.call("POST", self.path, headers, body))
        else:
            self._send(Reply.json(404, ApiError(404, "notFound", f"no such endpoint {path}").body()))


__all__ = ["CONCURRENT_LIMIT", "MAX_BATCH", "SCOPE_METADATA", "UNITS", "FakeGoogle", "Reply", "Rule"]
