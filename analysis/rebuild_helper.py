"""The rebuild's derivation in a helper process, so deriving and writing use two cores.

A rebuild of a big store is half Python derivation and half writing the derived tables; in one
process they run one after the other (the GIL). The writes must stay in the caller's process,
which owns the transaction, but the derivation only reads what the sync wrote (and the keys
of the flags, which only an analysis makes, one analysis at a time). So a helper
process with its own connection reads the same rows: each process derives half the facts and
they trade halves; then this process writes the facts while the helper derives the contacts
and sends their results (pickled, a slice at a time), which this process writes as they come.

The helper sees the same data only when this transaction has not itself written to the tables
it reads, so ``reader_url`` is asked before the rebuild's first write and says None otherwise.
On SQLite the rebuild then holds the write lock before the helper starts reading, so no other
process can commit in between. On PostgreSQL a sync that commits during the rebuild can be seen
by one process and not the other, as it could by two statements of one process before (here a
second copy of a message arriving then can leave its fact to neither half): the messages it
touched are in the analysis queue, and the next incremental run settles them.

A forkserver (not fork) child is used, as for the sync's parsing (``connectors.parallel``): the
daemon has threads and open connections that must not be copied. A helper that cannot start or
fails raises ``OffloadFailed``; the rebuild then starts over and derives in its own process.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import logging
import os
import pickle
import queue
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from kith.analysis.copies import Part
from kith.analysis.identity import Identities
from kith.analysis.rebuild_derive import Op, derive
from kith.config.models import AnalysisConfig
from kith.store.rebuild_tables import has_written, message_id_range, read_only

log = logging.getLogger(__name__)

#: Messages from which a rebuild derives in a helper: starting one (a process and the imports)
#: costs about a second, more than it saves on a small store.
OFFLOAD_MIN = 50_000
#: Bytes of pipe buffer asked for (Linux caps it at /proc/sys/fs/pipe-max-size, 1 MiB by
#: default): one op fits in a write or two, so the helper rarely waits on this process.
PIPE_BYTES = 1 << 20
#: How often a thread waiting for the GIL gets it, while ops arrive: the thread that drains the
#: pipe must not wait the default 5 ms each time this process is busy in Python.
SWITCH_INTERVAL = 0.001
#: Ops received and not yet written, at most (a results op is ~15 MB pickled at 1M messages).
INBOX_OPS = 4


class OffloadFailed(Exception):
    """The helper could not start, or stopped before it was done (the message says why)."""


def reader_url(conn: Connection, minimum: int | None = None) -> str | None:
    """The URL a helper can read this store's synced data through, or None when it should not:
    a store of fewer than ``minimum`` (default ``OFFLOAD_MIN``) messages, an in-memory database,
    or a transaction that has written already."""
    url = conn.engine.url
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not url.database or url.database == ":memory:" or url.query.get("mode") == "memory":
            return None
        if conn.connection.driver_connection.in_transaction:  # type: ignore[union-attr]
            return None
    elif backend == "postgresql":
        if has_written(conn):
            return None
    else:
        return None
    size = message_id_range(conn)[1] or 0
    if size < (OFFLOAD_MIN if minimum is None else minimum):
        return None
    return url.render_as_string(hide_password=False)


class _Link:
    """One process's end of the two pipes: ops and facts go out on ``send``; what the other
    process sends is drained from ``recv`` by a thread as it comes, so the sender never waits on
    this process's own work. Also each side's ``Exchange`` of the facts."""

    def __init__(self, send: Any, recv: Any, part: Part) -> None:
        self.part = part
        self._send = send
        self._recv = recv
        self._closed = False
        # once the facts are traded, a few ops ahead at most: a helper further ahead waits,
        # rather than the rebuild holding every result of the store at once (while they are
        # traded, neither side may wait for the other to finish its own part)
        self._bounded = False
        self._inbox: queue.Queue[bytes | None] = queue.Queue()
        threading.Thread(target=self._pump, name="kith-rebuild-pipe", daemon=True).start()

    def _pump(self) -> None:
        try:
            while self._offer(self._recv.recv_bytes()):
                pass
        except BaseException:  # end of file, a closed pipe, anything: the reader must not hang
            pass
        finally:
            self._offer(None)

    def _offer(self, item: bytes | None) -> bool:
        """Queue ``item`` unless this end is closed meanwhile; False when it is."""
        while not self._closed:
            if not self._bounded or self._inbox.qsize() < INBOX_OPS:
                self._inbox.put(item)
                return True
            time.sleep(0.02)
        return False

    def _ended(self) -> str:
        return "the rebuild's process stopped sending its facts"

    def _next(self) -> Op:
        data = self._inbox.get()
        if data is None:
            raise OffloadFailed(self._ended())
        kind, payload = pickle.loads(data)
        if kind == "error":
            raise OffloadFailed(payload)
        return kind, payload

    def send(self, states: list[tuple[Any, ...]] | None) -> None:
        try:
            self._send.send_bytes(pickle.dumps(("part", states), protocol=pickle.HIGHEST_PROTOCOL))
        except OSError as exc:
            # the other side stopped reading: the rest of what it sent says why (its error, or its end)
            try:
                while True:
                    self._next()
            except OffloadFailed as failed:
                raise failed from exc

    def received(self) -> Iterator[list[tuple[Any, ...]]]:
        """The other process's part of the facts, a batch at a time, up to its ``None``."""
        while True:
            kind, states = self._next()
            if kind != "part":
                raise OffloadFailed(f"expected the other process's facts, got {kind!r}")
            if states is None:
                break
            yield states
        self._bounded = True


class Helper(_Link):
    """A started helper process, as the rebuild's process sees it: the ``Exchange`` of the facts
    (this side), then, iterated, the helper's ops in order. ``close`` when done with it (also
    after an error of the caller's own, which leaves no one to read the rest)."""

    def __init__(self, proc: Any, recv: Any, send: Any, part: Part) -> None:
        self._proc = proc
        self._interval = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL)
        super().__init__(send, recv, part)

    def _ended(self) -> str:
        self._proc.join(5)
        return f"the helper process ended early (exit code {self._proc.exitcode})"

    def __iter__(self) -> Iterator[Op]:
        while True:
            kind, payload = self._next()
            if kind == "done":  # the helper's memory is not in this process's own peak: say it
                payload = {**payload, "helper_peak_rss_mb": payload["peak_rss_mb"]}
            yield kind, payload
            if kind == "done":
                return

    def close(self) -> None:
        self._closed = True
        sys.setswitchinterval(self._interval)
        self._send.close()
        self._proc.join(1)
        if self._proc.is_alive():  # the caller stopped early (its own error): no one wants the rest
            self._proc.terminate()
            self._proc.join(5)
        self._recv.close()


def halves(conn: Connection) -> tuple[Part, Part]:
    """This process's part of the facts and the helper's: half the messages each, by id (this
    process takes the keys stored more than once, usually few)."""
    lo, hi = message_id_range(conn)
    middle = ((lo or 0) + (hi or 0)) // 2 + 1
    return Part(None, middle, True), Part(middle, None, False)


def derive_elsewhere(
    url: str, ident: Identities, cfg: AnalysisConfig, now: datetime, parts: tuple[Part, Part]
) -> Helper:
    """Start a helper process that derives its part of the facts (``parts[1]``; this process
    derives ``parts[0]``), trades it for this process's, and derives the contacts' results from
    ``url``. It starts now, so it works while the caller derives its part and writes the facts.
    Each process derives half the facts and unpickles the other half (measured at 1M messages:
    the facts took each process 12 s so, against 17-18 s when both derived them all)."""
    import multiprocessing

    ctx = multiprocessing.get_context("forkserver")
    recv, helper_send = ctx.Pipe(duplex=False)
    helper_recv, send = ctx.Pipe(duplex=False)
    for end in (recv, helper_recv):
        with contextlib.suppress(OSError, AttributeError):  # a bigger buffer is only an optimisation
            fcntl.fcntl(end.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)  # type: ignore[attr-defined]
    args = (helper_send, helper_recv, url, ident, cfg, now, parts[1], os.getpid())
    proc = ctx.Process(target=_helper, args=args, name="kith-rebuild", daemon=True)
    try:
        proc.start()
    except (OSError, ValueError, RuntimeError) as exc:
        for end in (recv, send, helper_send, helper_recv):
            end.close()
        raise OffloadFailed(f"cannot start a helper process: {exc}") from exc
    helper_send.close()
    helper_recv.close()
    return Helper(proc, recv, send, parts[0])


def _helper(
    send: Any, recv: Any, url: str, ident: Identities, cfg: AnalysisConfig, now: datetime, part: Part, parent: int
) -> None:
    """In the helper process: derive from ``url``, trading facts with the rebuild's process, and
    send each op down ``send``."""
    from kith.process import exit_with
    from kith.store.engine import open_store

    exit_with(parent)
    gc.disable()  # as in the rebuild's own process (``engine._no_cyclic_gc``): millions of live objects
    sys.setswitchinterval(SWITCH_INTERVAL)  # for the thread that drains the rebuild's facts
    try:
        store = open_store(url, upgrade=False)
        try:
            with store.engine.connect() as conn:
                conn = read_only(conn)
                link = _Link(send, recv, part)
                for op in derive(conn, ident, cfg, now, facts_out=False, exchange=link):
                    send.send_bytes(pickle.dumps(op, protocol=pickle.HIGHEST_PROTOCOL))
        finally:
            store.dispose()
    except BaseException as exc:  # every failure goes back to the rebuild, as text
        lines = traceback.format_exception(exc)
        with contextlib.suppress(OSError):
            send.send_bytes(pickle.dumps(("error", f"{exc!r} in the helper process\n{''.join(lines)}")))
    finally:
        send.close()
        recv.close()


__all__ = ["OFFLOAD_MIN", "Helper", "OffloadFailed", "derive_elsewhere", "halves", "reader_url"]
