"""Retrying throttled or failing provider calls; shared by the Gmail and Microsoft Graph clients.

``RetryPolicy`` is exponential backoff with full jitter, never shorter than the server's
Retry-After, which is capped. A client retries one
call with ``policy.retrying(...)`` (tenacity, retrying ``TransientError`` only) and, between the
rounds of a batch whose parts came back throttled, calls ``policy.throttled(...)``, which sleeps
or, after the last attempt, raises. The sync engine's own retry is the second line.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt

from kith.errors import TransientError


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying a throttled or failing call. Tests inject one that does not sleep."""

    attempts: int = 6
    initial: float = 1.0
    maximum: float = 64.0
    #: A Retry-After longer than this is cut to it (a day-long hint must not stall the daemon).
    max_retry_after: float = 300.0
    sleep: Callable[[float], None] = time.sleep

    def wait(self, attempt: int, retry_after: float | None) -> float:
        """Backoff for the ``attempt``-th failure (1-based): exponential with full jitter, ≥ Retry-After."""
        backoff = min(self.maximum, self.initial * 2 ** (attempt - 1))
        backoff = backoff / 2 + random.uniform(0, backoff / 2)
        if retry_after:
            return max(backoff, min(retry_after, self.max_retry_after))
        return backoff

    def retrying(self, mailbox: str, log: logging.Logger) -> Retrying:
        """A tenacity loop for one call: ``TransientError`` is retried (waiting at least its Retry-After)."""
        return Retrying(
            retry=retry_if_exception_type(TransientError),
            stop=stop_after_attempt(self.attempts),
            wait=lambda rs: self.wait(
                rs.attempt_number, getattr(rs.outcome.exception() if rs.outcome else None, "retry_after", None)
            ),
            sleep=self.sleep,
            reraise=True,
            before_sleep=lambda rs: log.info(
                "%s: %s; retrying", mailbox, rs.outcome.exception() if rs.outcome else "?"
            ),
        )

    def throttled(self, attempt: int, pending: int, hint: float | None, *, mailbox: str, log: logging.Logger) -> None:
        """After round ``attempt`` of a batch left ``pending`` parts throttled: wait, or give up if it was the last."""
        if attempt >= self.attempts:
            raise TransientError(
                f"{pending} batched call(s) still throttled after {attempt} attempts", retry_after=hint
            )
        wait = self.wait(attempt, hint)
        log.info("%s: %d batched call(s) throttled; retrying in %.1fs", mailbox, pending, wait)
        self.sleep(wait)


def retry_after(headers: Mapping[str, Any] | None) -> float | None:
    """The Retry-After header (any case) in seconds; None if absent or an HTTP-date (our backoff applies)."""
    if not headers:
        return None
    value = next((v for k, v in headers.items() if str(k).lower() == "retry-after"), None)
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


__all__ = ["RetryPolicy", "retry_after"]
