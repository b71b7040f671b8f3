"""The limits Microsoft Graph puts on one mailbox, as the fake enforces them, each with its source.

- **MailboxConcurrency**: Outlook runs at most 4 requests for one mailbox at once ("Microsoft
  Graph throttling limits", Outlook service limits: "4 concurrent requests"). The parts of a
  ``$batch`` run in parallel unless ``dependsOn`` orders them, so a batch of more than 4
  independent parts has its extra parts answered ``429`` with ``Retry-After`` inside the ``200``
  batch answer (Microsoft Q&A 734143, Glen Scales: "if you tried to execute a batch request with
  5 requests the last request would be throttled in the batch because of the Concurrency
  limit"; Q&A 1660054: Graph "dispatches up to four individual requests from a batch to the
  Outlook service simultaneously"). ``lanes`` turns a batch into its parallel chains.
- **dependsOn**: a part whose dependency failed answers ``424 Failed Dependency`` ("Combine
  multiple requests in one HTTP call using JSON batching": "If an individual request fails,
  any request that depends on that request fails with status code 424").
- **10,000 requests per 10 minutes** per app and mailbox, batch parts counted one by one
  (Outlook service limits; "Throttling coming to Outlook API and Microsoft Graph", Microsoft
  365 developer blog, 2017: "your app can make at most 10000 requests to a single user's
  mailbox in a 10-minute period"). ``RequestWindow`` is that sliding window.
- **$select** of a property the resource does not have is a ``400`` ("Could not find a property
  named 'x' on type 'microsoft.graph.message'", the OData error Graph returns);
  ``MESSAGE_PROPERTIES`` are the message resource's properties (Graph v1.0 message resource).

``SimClock`` lets the batching benchmark run a long first sync in simulated time: every HTTP
exchange costs ``rtt`` and every Outlook operation ``op_time``, run in parallel across the lanes
of a batch, and the client's sleeps advance the same clock.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.graph.mailbox import GraphError

MAILBOX_CONCURRENCY = 4
WINDOW_REQUESTS = 10_000
WINDOW_SECONDS = 600.0
#: Properties of the Graph v1.0 ``message`` resource (plus the ``id``).
MESSAGE_PROPERTIES = frozenset(
    {
        "id",
        "bccRecipients",
        "body",
        "bodyPreview",
        "categories",
        "ccRecipients",
        "changeKey",
        "conversationId",
        "conversationIndex",
        "createdDateTime",
        "flag",
        "from",
        "hasAttachments",
        "importance",
        "inferenceClassification",
        "internetMessageHeaders",
        "internetMessageId",
        "isDeliveryReceiptRequested",
        "isDraft",
        "isRead",
        "isReadReceiptRequested",
        "lastModifiedDateTime",
        "parentFolderId",
        "receivedDateTime",
        "replyTo",
        "sender",
        "sentDateTime",
        "subject",
        "toRecipients",
        "uniqueBody",
        "webLink",
    }
)


def check_select(select: str, properties: frozenset[str] = MESSAGE_PROPERTIES, kind: str = "message") -> None:
    """A 400 for a ``$select`` naming a property the resource does not have."""
    for name in (s.strip() for s in select.split(",")):
        if name and name not in properties:
            raise GraphError(
                400,
                "RequestBroker--ParseUri",
                f"Could not find a property named '{name}' on type 'microsoft.graph.{kind}'.",
            )


def lanes(requests: Sequence[Mapping[str, Any]]) -> dict[str, int] | str:
    """Each part's parallel lane (a ``dependsOn`` part runs after, in its dependency's lane).

    Returns an error text for a ``dependsOn`` naming no earlier part (Graph answers 400).
    """
    out: dict[str, int] = {}
    count = 0
    for req in requests:
        rid = str(req.get("id"))
        deps = [str(d) for d in req.get("dependsOn") or ()]
        if deps:
            if any(d not in out for d in deps):
                return f"dependsOn of request {rid} names a request that is not before it in the batch"
            out[rid] = out[deps[0]]
        else:
            out[rid] = count
            count += 1
    return out


@dataclass
class SimClock:
    """Simulated time for the batching benchmark (see the module docstring)."""

    rtt: float = 0.15
    op_time: float = 0.05
    now: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += max(0.0, seconds)

    def exchange(self, lane_ops: Mapping[int, int] | None = None) -> None:
        """One HTTP exchange whose Outlook operations ran in ``lane_ops`` (lane → count) lanes."""
        self.sleep(self.rtt + self.op_time * max((lane_ops or {0: 1}).values(), default=1))


class RequestWindow:
    """At most ``limit`` requests in any ``seconds``-long window; ``take`` says how long to wait."""

    def __init__(self, limit: int = WINDOW_REQUESTS, seconds: float = WINDOW_SECONDS, clock: Any = time.monotonic):
        self.limit = limit
        self.seconds = seconds
        self.clock = clock
        self.stamps: deque[float] = deque()
        self.refused = 0
        self._lock = threading.Lock()

    def take(self) -> float | None:
        """Count one request; None if it may run, else the seconds until it would have."""
        with self._lock:
            now = self.clock()
            while self.stamps and now - self.stamps[0] >= self.seconds:
                self.stamps.popleft()
            if len(self.stamps) >= self.limit:
                self.refused += 1
                return self.seconds - (now - self.stamps[0])
            self.stamps.append(now)
            return None


__all__ = [
    "MAILBOX_CONCURRENCY",
    "MESSAGE_PROPERTIES",
    "WINDOW_REQUESTS",
    "WINDOW_SECONDS",
    "RequestWindow",
    "SimClock",
    "check_select",
    "lanes",
]
