"""Retrying throttled or failing provider calls; shared by the Gmail and Microsoft Graph clients.

``QuotaBudget`` (a token bucket) and ``WindowBudget`` (a sliding window) pace calls under a
provider's quota before any 429 is seen. ``RetryPolicy`` is
exponential backoff with full jitter, never shorter than the server's Retry-After, which is
capped. A client retries one call with ``policy.retrying(...)`` (tenacity, retrying
``TransientError`` only) and, between the rounds of a batch whose parts came back throttled,
calls ``policy.throttled(...)``, which sleeps or, after the last attempt, raises. The sync engine's own retry is the second line.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
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


class QuotaBudget:
    """A token bucket over a provider's per-user quota: Gmail's units (250 a second per user,
    i.e. 15,000 a minute), Microsoft Graph's requests (10,000 per mailbox in 10 minutes).

    Spending before each call keeps a long initial sync under the limit instead of discovering
    it through 429s. By default the bucket holds four seconds' worth, at least 500, so that a
    100-call Gmail batch (500 units) goes out at once; a limit counted over a sliding window
    (Graph's) needs a small ``capacity``, or a burst plus the steady rate overruns the window.
    ``rate = 0`` turns budgeting off; units are still counted.
    """

    def __init__(
        self,
        rate: float,
        *,
        capacity: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate
        self.capacity = capacity if capacity is not None else max(rate * 4, 500.0)
        self.clock = clock
        self.sleep = sleep
        self.tokens = self.capacity
        self.stamp = clock()
        self.spent = 0
        self.waited = 0.0
        self._lock = threading.Lock()

    def spend(self, units: int) -> None:
        with self._lock:
            self.spent += units
            if self.rate <= 0:
                return
            now = self.clock()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            self.tokens -= units
            debt = -self.tokens / self.rate if self.tokens < 0 else 0.0
        if debt > 0:
            self.waited += debt
            self.sleep(debt)


class WindowBudget:
    """At most ``limit`` units in any ``seconds``-long window, as Outlook counts its 10,000 requests
    per mailbox in 10 minutes: a sliding window, so a small sync is never slowed down and a long
    one goes at full speed until the window is full, then waits exactly until the oldest request
    leaves it (a token bucket would have to be slow from the start to be safe).
    ``limit = 0`` turns pacing off; units are still counted.
    """

    def __init__(
        self,
        limit: int,
        seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limit = limit
        self.seconds = seconds
        self.clock = clock
        self.sleep = sleep
        self.spent = 0
        self.waited = 0.0
        self._stamps: deque[tuple[float, int]] = deque()
        self._in_window = 0
        self._lock = threading.Lock()

    def spend(self, units: int) -> None:
        with self._lock:
            self.spent += units
            if self.limit <= 0:
                return
            units = min(units, self.limit)
            while True:
                now = self.clock()
                while self._stamps and now - self._stamps[0][0] >= self.seconds:
                    self._in_window -= self._stamps.popleft()[1]
                if self._in_window + units <= self.limit:
                    self._stamps.append((now, units))
                    self._in_window += units
                    return
                wait = self.seconds - (now - self._stamps[0][0]) + 0.001
                self.waited += wait
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


__all__ = ["QuotaBudget", "RetryPolicy", "WindowBudget", "retry_after"]
