"""Talking to Microsoft Graph over httpx: tokens, error mapping, retries, JSON batching.

The client knows nothing about mail or calendars. It is given a *token provider*, a callable
``provider(force_refresh=False) -> str`` (msal behind it in production, a constant in tests), so
that what is tested against the fake is this client as it runs, minus Microsoft's login.

Errors, the way Graph documents them:

- 401 → ask the provider for a fresh token once and resend; a second 401 → ``AuthError``
  (a revoked grant must not loop)
- 429, 503, 504 (and other 5xx, and network failures) → ``TransientError`` carrying Retry-After
- 410 Gone, or the error codes ``syncStateNotFound``/``resyncRequired``/``syncStateInvalid`` →
  ``CursorExpired``: the delta token is gone, the stream must be resynced
- 403 → ``AuthError`` naming the missing permission, anything else → ``KithError``

Transient errors are retried here (``connectors.retry.RetryPolicy``: exponential backoff with full
jitter, never shorter than Retry-After, which is capped), so a throttled page is fetched again
rather than lost; the sync engine's own retry is the second line.

``batch`` sends ``POST /$batch`` (JSON batching: Graph refuses more than 20 requests in one);
parts that come back throttled are retried on their own, after the longest Retry-After any of
them asked for. Outlook runs at most 4 requests for one mailbox at once (MailboxConcurrency;
"Microsoft Graph throttling limits", Outlook service limits), and the parts of a batch run in
parallel, so a batch of 20 independent parts has 16 of them refused with 429. kith sends
batches of ``BATCH_SIZE``: with 4 or fewer, the parts are independent; with more, they form 4
``dependsOn`` chains, which Outlook runs one after another within each chain. A part whose
dependency failed answers 424 and is asked for again. Which is faster for a first sync was
measured under the fake's limits (``bench/graph_batching.py``; the figures are in the constant's
comment).

Every request counts toward Outlook's 10,000 requests per mailbox in 10 minutes (batch parts one
by one); ``budget`` (a ``WindowBudget``) paces them below that before any 429 is seen.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from kith.connectors.base import JSON
from kith.connectors.retry import QuotaBudget, RetryPolicy, WindowBudget, retry_after
from kith.errors import AuthError, CursorExpired, KithError, TransientError

log = logging.getLogger(__name__)

GRAPH_ENDPOINT = "https://graph.microsoft.com/v1.0"
#: Graph refuses JSON batches of more than 20 requests.
MAX_BATCH = 20
#: Outlook runs at most this many requests for one mailbox at once.
MAILBOX_CONCURRENCY = 4
#: Parts per ``$batch`` (see the module docstring): 4 dependsOn chains of 5. Measured with
#: ``python -m bench.graph_batching --messages 50000`` (simulated: 0.15 s a round trip, 0.05 s an
#: Outlook operation, 35,653 Outlook requests): chains 32.7 minutes in 2,261 HTTP requests,
#: batches of 4 independent parts 35.8 minutes in 9,291, both without a 429; 20 independent
#: parts (the old way) 56 minutes for 2,000 messages, 4,386 parts refused.
BATCH_SIZE = 20
#: Outlook's per-mailbox limit: 10,000 requests in any 10 minutes (batch parts counted singly).
WINDOW_REQUESTS = 10_000
WINDOW_SECONDS = 600.0
EXPIRED_CODES = frozenset({"syncstatenotfound", "resyncrequired", "syncstateinvalid"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class TokenProvider(Protocol):
    """Returns a bearer token; ``force_refresh`` after the server refused the previous one."""

    def __call__(self, force_refresh: bool = False) -> str: ...


def _error(body: Any) -> tuple[str, str]:
    err = body.get("error") if isinstance(body, Mapping) else None
    if isinstance(err, Mapping):
        return str(err.get("code") or ""), str(err.get("message") or "")
    return "", ""


def classify(
    status: int, body: Any, headers: Mapping[str, Any] | None, *, mailbox: str, permission: str | None = None
) -> KithError:
    """The kith error a Graph error response means (see the module docstring).

    ``permission`` names what the call needs (``Mail.Send``), so that a 403 says so.
    """
    code, message = _error(body)
    what = f"Graph {status} {code}: {message}".rstrip(": ")
    if status == 410 or code.lower() in EXPIRED_CODES:
        return CursorExpired(f"delta token no longer valid ({what})")
    if status == 401:
        return AuthError(f"Microsoft Graph refused the access token ({what})", mailbox=mailbox)
    if status in RETRY_STATUSES or status >= 500:
        return TransientError(what, retry_after=retry_after(headers))
    if status == 403 and permission:
        return AuthError(
            f"Microsoft Graph refused access ({what}); this call needs the {permission} permission",
            mailbox=mailbox,
            hint=f"grant {permission} (delegated: run `kith auth {mailbox}` and consent; app-only: an admin "
            f"consents to the application permission), then try again",
        )
    if status == 403:
        return AuthError(
            f"Microsoft Graph refused access ({what})",
            mailbox=mailbox,
            hint=f"check the app's Mail.Read/Calendars.Read permissions (admin consent), then run `kith auth {mailbox}`",
        )
    return KithError(what)


@dataclass
class Outcome:
    """What a set of batched calls returned: bodies by id, ids that do not exist, ids that failed."""

    results: dict[str, Any] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)
    #: Ids refused with 403: the granted permissions do not cover this call (e.g. Mail.ReadBasic).
    forbidden: set[str] = field(default_factory=set)


class GraphClient:
    """One httpx connection pool, the token provider and the retry policy, shared by all calls."""

    def __init__(
        self,
        token: TokenProvider,
        *,
        mailbox: str,
        endpoint: str = GRAPH_ENDPOINT,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        budget: QuotaBudget | WindowBudget | None = None,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.token = token
        #: Requests (batch parts singly) allowed per second; ``QuotaBudget(0)`` only counts.
        self.budget = budget or WindowBudget(0, WINDOW_SECONDS)
        self.batch_size = max(1, min(batch_size, MAX_BATCH))
        self.mailbox = mailbox
        self.endpoint = endpoint.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.http = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 15.0)),
            transport=transport,
            headers={"Accept": "application/json"},
        )
        self.http_requests = 0
        self.batch_requests = 0
        self.batched_calls = 0

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.endpoint + "/" + path.lstrip("/")

    # -- one request --------------------------------------------------------------------------

    def _send(
        self, method: str, url: str, *, headers: Mapping[str, str], json: Any = None, content: bytes | None = None
    ) -> httpx.Response:
        """One HTTP exchange; a 401 gets one fresh token and one resend."""
        for fresh in (False, True):
            auth = {"Authorization": f"Bearer {self.token(force_refresh=fresh)}", **headers}
            self.http_requests += 1
            try:
                resp = self.http.request(method, url, headers=auth, json=json, content=content)
            except httpx.TimeoutException as exc:
                raise TransientError(f"Graph timed out: {type(exc).__name__}") from exc
            except httpx.TransportError as exc:
                raise TransientError(f"network error talking to Graph: {type(exc).__name__}: {exc}") from exc
            if resp.status_code != 401:
                return resp
            log.info("%s: Graph answered 401; %s", self.mailbox, "giving up" if fresh else "refreshing the token")
        return resp

    def _once(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        json: Any,
        content: bytes | None = None,
        permission: str | None = None,
    ) -> Any:
        resp = self._send(method, url, headers=headers, json=json, content=content)
        try:
            body = resp.json() if resp.content else {}
        except ValueError:
            body = {}
        if resp.status_code >= 400:
            raise classify(resp.status_code, body, resp.headers, mailbox=self.mailbox, permission=permission)
        return body

    def call(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        content: bytes | None = None,
        permission: str | None = None,
    ) -> Any:
        """Run one call with retries; returns the JSON body (``{}`` for none), raises kith errors only.

        ``content`` is a raw request body (give its Content-Type in ``headers``) instead of ``json``;
        ``permission`` is what the call needs, named by the error of a 403.
        """
        url = self.url(path)
        parts = len(json.get("requests") or ()) if path == "$batch" and isinstance(json, Mapping) else 1
        for attempt in self.retry.retrying(self.mailbox, log):
            with attempt:
                self.budget.spend(parts)
                return self._once(method, url, headers or {}, json, content, permission)
        raise AssertionError("unreachable")  # pragma: no cover

    def get(self, path: str, *, headers: Mapping[str, str] | None = None) -> Any:
        return self.call("GET", path, headers=headers)

    # -- JSON batching ------------------------------------------------------------------------

    def batch(self, calls: Mapping[str, str], *, headers: Mapping[str, str] | None = None) -> Outcome:
        """GET each relative URL of ``calls`` (id → url) through ``$batch``, ``batch_size`` at a time.

        A part answering 404 is ``missing`` (deleted since it was listed); a part refused for good
        (403, 400) is ``failed`` with the reason; throttled parts, and parts whose dependency
        failed (424), are asked for again. A 401 stops all.
        """
        out = Outcome()
        pending = list(calls)
        size = self.batch_size
        for attempt in range(1, self.retry.attempts + 1):
            again: list[str] = []
            hint: float | None = None
            for start in range(0, len(pending), size):
                chunk = pending[start : start + size]
                body = {"requests": _parts(chunk, calls, headers)}
                self.batch_requests += 1
                self.batched_calls += len(chunk)
                answer = self.call("POST", "$batch", json=body, headers={"Content-Type": "application/json"})
                by_id = {str(r.get("id")): r for r in answer.get("responses") or () if isinstance(r, Mapping)}
                for rid in chunk:
                    part = by_id.get(rid)
                    if part is None:
                        again.append(rid)
                        continue
                    status = int(part.get("status") or 0)
                    if status < 400:
                        out.results[rid] = part.get("body") or {}
                        continue
                    if status == 424:  # its dependency failed; it never ran
                        again.append(rid)
                        continue
                    err = classify(status, part.get("body"), part.get("headers"), mailbox=self.mailbox)
                    if status == 404:
                        out.missing.add(rid)
                    elif status == 401:
                        raise err
                    elif isinstance(err, TransientError):
                        again.append(rid)
                        hint = max(hint or 0.0, err.retry_after or 0.0) or None
                    else:
                        out.failed[rid] = str(err)
                        if status == 403:
                            out.forbidden.add(rid)
                if out.forbidden:  # the permissions do not cover these calls: the rest fare no better
                    why = out.failed[next(iter(out.forbidden))]
                    for rid in [*again, *pending[start + size :]]:
                        out.failed[rid] = why
                        out.forbidden.add(rid)
                    return out
            if not again:
                return out
            self.retry.throttled(attempt, len(again), hint, mailbox=self.mailbox, log=log)
            pending = again
        return out  # pragma: no cover

    def close(self) -> None:
        self.http.close()


def _parts(chunk: list[str], calls: Mapping[str, str], headers: Mapping[str, str] | None) -> list[JSON]:
    """The requests of one ``$batch``: independent up to ``MAILBOX_CONCURRENCY``, else that many
    ``dependsOn`` chains (part ``i`` waits for part ``i - 4``), so no more run at once."""
    out: list[JSON] = []
    for i, rid in enumerate(chunk):
        part: JSON = {"id": rid, "method": "GET", "url": calls[rid]}
        if headers:
            part["headers"] = dict(headers)
        if len(chunk) > MAILBOX_CONCURRENCY and i >= MAILBOX_CONCURRENCY:
            part["dependsOn"] = [chunk[i - MAILBOX_CONCURRENCY]]
        out.append(part)
    return out


__all__ = [
    "BATCH_SIZE",
    "GRAPH_ENDPOINT",
    "MAILBOX_CONCURRENCY",
    "MAX_BATCH",
    "WINDOW_REQUESTS",
    "WINDOW_SECONDS",
    "GraphClient",
    "Outcome",
    "QuotaBudget",
    "WindowBudget",
    "RetryPolicy",
    "TokenProvider",
    "classify",
    "retry_after",
]
