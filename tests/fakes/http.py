"""The plumbing the fake Google and Graph servers share: a threaded local HTTP server, replies,
injected failures and request counters.

A fake subclasses ``FakeServer`` (lifecycle, ``fail``, ``_fire``, counters, ``counts``) and
serves through a subclass of ``FakeHandler`` (quiet logging, ``_send``, ``_body``, ``_count``
and the ``/_admin/counts`` and ``/_admin/reset`` endpoints a fake in another process, the
bench, is read through). ``start()`` binds a free 127.0.0.1 port; a client killed mid-request
(the SIGKILL tests) is not logged as a server error.
"""

from __future__ import annotations

import json
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    #: The Content-Type of ``Reply.json``; a fake whose provider adds a charset overrides it.
    json_type: ClassVar[str] = "application/json"

    @classmethod
    def json(cls, status: int, data: Any, headers: dict[str, str] | None = None) -> Self:
        return cls(status, json.dumps(data).encode(), {"Content-Type": cls.json_type, **(headers or {})})


@dataclass
class Rule:
    """Fail (or delay) calls of one operation: skip ``after`` matching calls, then hit ``count``."""

    op: str
    status: int | None = 429
    count: int = 1
    after: int = 0
    retry_after: str | None = None
    delay: float = 0.0
    seen: int = 0
    fired: int = 0

    def headers(self) -> dict[str, str]:
        """The response headers of the injected failure: its Retry-After, if it has one."""
        return {"Retry-After": self.retry_after} if self.retry_after is not None else {}


class FakeServer:
    """A fake service; ``start()`` it, use ``url``, ``stop()`` it (or use it as a context manager)."""

    #: The rules ``fail`` makes (a fake's own ``Rule`` adds its error fields).
    rule_type: ClassVar[type[Rule]] = Rule

    def __init__(self, handler: type[FakeHandler], *, name: str) -> None:
        self._handler = handler
        self._name = name
        self.rules: list[Rule] = []
        self.requests: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self.batch_sizes: list[int] = []
        #: Set on ``stop()``: wakes the calls an injected ``delay`` holds up.
        self.release = threading.Event()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Self:
        handler = type("Handler", (self._handler,), {"fake": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        threading.Thread(target=self._server.serve_forever, args=(0.05,), name=self._name, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    # -- failures and counters ----------------------------------------------------------------

    def fail(self, op: str, status: int | None = 429, **kwargs: Any) -> Rule:
        """Inject a failure (or with ``status=None`` only a ``delay``) for calls of ``op``."""
        rule = self.rule_type(op, status, **kwargs)
        with self._lock:
            self.rules.append(rule)
        return rule

    def _fire(self, op: str) -> Rule | None:
        """The rule this call of ``op`` fails with, after its delay; None if it is to go through."""
        hit: Rule | None = None
        with self._lock:
            for rule in self.rules:
                if rule.op != op or rule.fired >= rule.count:
                    continue
                rule.seen += 1
                if rule.seen > rule.after:
                    rule.fired += 1
                    hit = rule
                    break
        if hit is None:
            return None
        if hit.delay:
            self.release.wait(hit.delay)
        return hit if hit.status is not None else None

    def reset_counts(self) -> None:
        with self._lock:
            self._clear_counts()

    def _clear_counts(self) -> None:
        """Clears every counter; called holding the lock (a fake with more counters extends it)."""
        self.requests.clear()
        self.calls.clear()
        self.batch_sizes.clear()

    def counts(self) -> dict[str, Any]:
        """What ``GET /_admin/counts`` answers."""
        with self._lock:
            return {"requests": dict(self.requests), "calls": dict(self.calls), "batch_sizes": list(self.batch_sizes)}


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (killed mid-request in the crash tests) is not an error here."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class FakeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    #: headers and body go out in separate writes; without TCP_NODELAY each keep-alive response
    #: waits ~40 ms for a delayed ACK
    disable_nagle_algorithm = True
    fake: FakeServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read counters instead
        return None

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _headers(self) -> dict[str, str]:
        return {k.lower(): v for k, v in self.headers.items()}

    def _count(self, kind: str) -> None:
        with self.fake._lock:
            self.fake.requests[kind] += 1
            self.fake.requests["total"] += 1

    def _admin(self) -> bool:
        """Answers ``GET /_admin/counts`` and ``/_admin/reset`` (for a fake in another process)."""
        if self.path == "/_admin/counts":
            self._send(Reply.json(200, self.fake.counts()))
            return True
        if self.path == "/_admin/reset":
            self.fake.reset_counts()
            self._send(Reply.json(200, {}))
            return True
        return False


__all__ = ["FakeHandler", "FakeServer", "Reply", "Rule"]
