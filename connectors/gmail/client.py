"""Talking to Google's REST APIs: building the services, turning errors into kith errors, retrying.

``googleapiclient.discovery.build(..., static_discovery=True)`` uses the discovery documents that
ship inside google-api-python-client, so building a service never touches the network, and
``client_options={"api_endpoint": ...}`` points it elsewhere (the tests' local fake).

One trap: the library derives the *batch* URL from the discovery document's ``rootUrl``, not from
``api_endpoint``, so ``service.new_batch_http_request()`` would always post to Google. Batches
are therefore built with an explicit ``batch_uri`` next to the endpoint (``batch/gmail/v1``, the
per-API batch path Google requires since the global one was retired).

Errors (``map_errors``), sorted the way the Singer SDK sorts them:

- 401 after google-auth's one refresh, and a refused refresh (``invalid_grant``) → ``AuthError``
- 429, 403 ``rateLimitExceeded``/``userRateLimitExceeded``, 5xx, network → ``TransientError``
  with the server's Retry-After
- 404/410 where the caller says it means "your sync position is gone" → ``CursorExpired``
- other 403 (missing scope, delegation refused) → ``AuthError`` naming the reason
- anything else 4xx → ``KithError`` with Google's message

Transient errors are retried here (``connectors.retry.RetryPolicy``: exponential backoff with
jitter, never shorter than Retry-After, which is capped), so a throttled page is fetched again
rather than lost; the sync engine's own retry is the second line.
"""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin

import google.auth.exceptions
import google_auth_httplib2
import httplib2
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest, HttpRequest

from kith.connectors.retry import QuotaBudget, RetryPolicy, retry_after
from kith.errors import AuthError, CursorExpired, KithError, TransientError

log = logging.getLogger(__name__)

GMAIL_ENDPOINT = "https://gmail.googleapis.com/"
CALENDAR_ENDPOINT = "https://www.googleapis.com/calendar/v3/"
#: Google refuses batches of more than 100 calls.
MAX_BATCH = 100
#: Calls per batch kith sends. The parts of a batch run at once, and Gmail refuses parts beyond a
#: few concurrent ones per user with 429 "Too many concurrent requests for user" (batching
#: guide: "Sending batches larger than 50 requests is not recommended"; amd/gaia#2720 measured a
#: live mailbox refusing 100 and 50 and taking 25). A refusal halves it, down to ``MIN_BATCH``.
BATCH = 25
MIN_BATCH = 5
_RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "backendError"})


def _reasons(exc: HttpError) -> tuple[set[str], str]:
    """Google's error reasons and message from the JSON error body (if it is one)."""
    try:
        body = json.loads(exc.content.decode("utf-8", "replace"))
        err = body.get("error", {})
        if isinstance(err, str):  # OAuth-style {"error": "invalid_grant"}
            return {err}, str(body.get("error_description", err))
        reasons = {str(e.get("reason")) for e in err.get("errors", []) if isinstance(e, dict)}
        return reasons, str(err.get("message", ""))
    except (ValueError, AttributeError):
        return set(), exc.reason if isinstance(exc.reason, str) else ""


def classify(exc: HttpError, *, mailbox: str, expired_on: Sequence[int] = ()) -> KithError:
    """The kith error an HTTP error from Google means (see the module docstring)."""
    status = int(exc.resp.status)
    reasons, message = _reasons(exc)
    what = f"Google API {status}: {message or exc.reason}"
    if status in expired_on:
        return CursorExpired(f"sync position no longer valid ({what})")
    if status == 401:
        return AuthError(f"Google refused the access token: {message}", mailbox=mailbox)
    if status == 429 or status >= 500 or (status == 403 and reasons & _RATE_REASONS):
        return TransientError(what, retry_after=retry_after(exc.resp))
    if status == 403:
        return AuthError(
            f"Google refused access ({', '.join(sorted(reasons)) or 'forbidden'}): {message}",
            mailbox=mailbox,
            hint=f"check the granted scopes and domain-wide delegation, then run `kith auth {mailbox}`",
        )
    return KithError(what)


#: Google expires the refresh tokens of an OAuth client in "Testing" publishing status 7 days
#: after consent (Google's OAuth 2.0 guide, "Refresh token expiration").
TESTING_LIFETIME = timedelta(days=7)


def refused_hint(mailbox: str, consented: datetime | None, now: datetime | None = None) -> str:
    """The fix for a refused refresh; names the 7-day Testing trap when the grant is that old."""
    fix = f"run `kith auth {mailbox}`"
    if consented is None:
        return fix + (
            " (if this happens every week, the OAuth client is in Testing publishing status: "
            "publish it on the Google Cloud console's OAuth consent screen)"
        )
    age = (now or datetime.now(UTC)) - consented
    if age >= TESTING_LIFETIME - timedelta(hours=1):
        return (
            f"the grant is {age.days} days old, and Google expires refresh tokens of an OAuth client "
            "in Testing publishing status after 7 days: publish the app (Google Cloud console → "
            f"OAuth consent screen → Publish app), then {fix}"
        )
    return fix


@contextmanager
def map_errors(mailbox: str, *, expired_on: Sequence[int] = (), consented: datetime | None = None) -> Iterator[None]:
    """Turn googleapiclient / google-auth / network exceptions into kith errors ``from`` them.

    ``consented`` is when the user granted the token (see ``refused_hint``).
    """
    try:
        yield
    except HttpError as exc:
        raise classify(exc, mailbox=mailbox, expired_on=expired_on) from exc
    except google.auth.exceptions.RefreshError as exc:
        retryable = getattr(exc, "retryable", False)
        if retryable:
            raise TransientError(f"token refresh failed for now: {exc}") from exc
        raise AuthError(
            f"Google refused to refresh the token ({_first(exc)})",
            mailbox=mailbox,
            hint=refused_hint(mailbox, consented),
        ) from exc
    except google.auth.exceptions.TransportError as exc:
        raise TransientError(f"cannot reach Google's token endpoint: {exc}") from exc
    except ssl.SSLCertVerificationError as exc:
        raise KithError(f"TLS certificate verification failed: {exc.verify_message}") from exc
    except (httplib2.HttpLib2Error, OSError) as exc:  # socket timeouts are OSErrors
        raise TransientError(f"network error talking to Google: {type(exc).__name__}: {exc}") from exc


def _first(exc: Exception) -> str:
    return str(exc.args[0]) if exc.args else type(exc).__name__


@dataclass
class Outcome:
    """What a batch of calls returned: results by id, and ids Google says do not exist."""

    results: dict[str, Any] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)


class GoogleClient:
    """One authorised HTTP connection plus retry policy and quota budget, shared by the calls."""

    def __init__(
        self,
        credentials: Any,
        *,
        mailbox: str,
        retry: RetryPolicy | None = None,
        budget: QuotaBudget | None = None,
        timeout: float = 60.0,
        on_refresh: Callable[[], None] | None = None,
        consented: datetime | None = None,
    ) -> None:
        self.mailbox = mailbox
        self.consented = consented
        self.retry = retry or RetryPolicy()
        self.budget = budget or QuotaBudget(0)
        # one refresh on 401, then the 401 stands (→ AuthError): a revoked grant must not loop
        self.http = google_auth_httplib2.AuthorizedHttp(
            credentials, http=httplib2.Http(timeout=timeout), max_refresh_attempts=1
        )
        self.credentials = credentials
        self.http_requests = 0
        self.on_refresh = on_refresh
        #: Calls per batch request; shrinks when Gmail refuses parts for concurrency.
        self.batch_size = BATCH

    def service(self, api: str, version: str, endpoint: str) -> Any:
        with map_errors(self.mailbox):
            return build(api, version, http=self.http, static_discovery=True, client_options={"api_endpoint": endpoint})

    def execute(self, request: HttpRequest, *, units: int = 1, expired_on: Sequence[int] = ()) -> Any:
        """Run one call with retries; raises kith errors only."""
        for attempt in self.retry.retrying(self.mailbox, log):
            with attempt:
                self.budget.spend(units)
                self.http_requests += 1
                with map_errors(self.mailbox, expired_on=expired_on, consented=self.consented):
                    return request.execute(num_retries=0)
        raise AssertionError("unreachable")  # pragma: no cover

    def execute_many(
        self, requests: Mapping[str, Callable[[], HttpRequest]], *, batch_uri: str, units: int = 1
    ) -> Outcome:
        """Many calls through batch requests of ``batch_size``; throttled parts are retried alone.

        A part answering 404 is "missing" (deleted since it was listed); a part failing for good
        is ``failed`` with the reason. An ``AuthError`` in any part stops everything.
        """
        out = Outcome()
        pending = list(requests)
        for attempt in range(1, self.retry.attempts + 1):
            retry_ids: list[str] = []
            hint: float | None = None
            refused = False
            for chunk in _chunks(pending, self.batch_size):
                errors: dict[str, HttpError] = {}

                def callback(
                    rid: str, response: Any, exc: Exception | None, errors: dict[str, HttpError] = errors
                ) -> None:
                    if exc is None:
                        out.results[rid] = response
                    elif isinstance(exc, HttpError):
                        errors[rid] = exc
                    else:  # pragma: no cover - the library only passes HttpError
                        out.failed[rid] = str(exc)

                def send(chunk: list[str] = chunk, callback: Callable[..., None] = callback) -> None:
                    batch = BatchHttpRequest(callback=callback, batch_uri=batch_uri)
                    for rid in chunk:
                        batch.add(requests[rid](), request_id=rid)
                    batch.execute(http=self.http)

                self.execute(_Deferred(send), units=units * len(chunk))
                for rid, exc in errors.items():
                    err = classify(exc, mailbox=self.mailbox)
                    if int(exc.resp.status) == 404:
                        out.missing.add(rid)
                    elif isinstance(err, AuthError):
                        raise err from exc
                    elif isinstance(err, TransientError):
                        retry_ids.append(rid)
                        refused = refused or int(exc.resp.status) == 429
                        hint = max(hint or 0.0, err.retry_after or 0.0) or None
                    else:
                        out.failed[rid] = str(err)
            if not retry_ids:
                return out
            if refused and self.batch_size > MIN_BATCH:
                self.batch_size = max(MIN_BATCH, self.batch_size // 2)
                log.info("%s: Gmail refused batched calls; batches of %d from now on", self.mailbox, self.batch_size)
            self.retry.throttled(attempt, len(retry_ids), hint, mailbox=self.mailbox, log=log)
            pending = retry_ids
        return out  # pragma: no cover

    def close(self) -> None:
        try:
            self.http.close()
        except Exception:  # pragma: no cover - closing is best effort
            log.debug("closing the HTTP connection failed", exc_info=True)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    size = max(1, min(size, MAX_BATCH))
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Deferred:
    """Adapts a thunk to the ``execute(num_retries=...)`` shape ``GoogleClient.execute`` calls."""

    def __init__(self, fn: Callable[[], None]) -> None:
        self.fn = fn

    def execute(self, num_retries: int = 0) -> None:
        self.fn()


def endpoint_join(endpoint: str, path: str) -> str:
    return urljoin(endpoint if endpoint.endswith("/") else endpoint + "/", path)


__all__ = [
    "BATCH",
    "CALENDAR_ENDPOINT",
    "GMAIL_ENDPOINT",
    "MAX_BATCH",
    "GoogleClient",
    "Outcome",
    "QuotaBudget",
    "RetryPolicy",
    "classify",
    "endpoint_join",
    "map_errors",
    "refused_hint",
]
