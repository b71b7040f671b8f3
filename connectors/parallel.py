"""Header parsing in a helper process, a few batches ahead of the store.

An initial sync costs, per message, reading the bytes, parsing the header block into a record,
and the store's write. In one Python process these run one after another whatever the number of
cores (the GIL); handing the reading and parsing of Maildir files to one helper process lets it
overlap the database writes, which is what brings a sync near the cost of parsing alone.
Records pickle cheaply (``MessageRecord.__reduce__``), so the hand-over costs far less than the
parsing it moves. IMAP does the same for large pulls (see ``imap/pipeline.py``).

The helper is started on first use and kept for the rest of the owner's sync (every folder of a
mailbox), then closed with the source: starting a process and importing kith in it costs about
as much as parsing a thousand messages (measured: 0.5-0.75 s on a slow machine). A consumer that
takes results in any order has the first items done in its own process meanwhile. A forkserver
(not fork) child is used because the daemon has threads and open database connections that
must not be copied. Where a helper process cannot start (a ``__main__`` read from stdin, a
sandbox without semaphores) or dies, the work carries on in this process: the inputs still in
flight are redone here, in order, so nothing is skipped or repeated.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from kith.process import exit_with

log = logging.getLogger(__name__)

In = TypeVar("In")
Out = TypeVar("Out")

#: Inputs handed to the helper ahead of the consumer at most; bounds memory whatever the speeds.
PREFETCH = 3
_END: Any = object()


class HelperProcess:
    """One worker process for ordered maps, started lazily and reused until ``close``."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._unavailable = False

    def _executor(self) -> ProcessPoolExecutor | None:
        if self._pool is None and not self._unavailable:
            import multiprocessing

            try:
                ctx = multiprocessing.get_context("forkserver")
                self._pool = ProcessPoolExecutor(
                    max_workers=1, mp_context=ctx, initializer=exit_with, initargs=(os.getpid(),)
                )
            except (OSError, ValueError) as exc:
                self._give_up(exc)
        return self._pool

    def _give_up(self, exc: BaseException) -> None:
        log.warning("parsing in a helper process unavailable (%s); parsing in this process", exc)
        self._unavailable = True
        self.close()

    def map(
        self, fn: Callable[[In], Out], items: Iterable[In], prefetch: int = PREFETCH, *, ordered: bool = True
    ) -> Iterator[Out]:
        """``map(fn, items)`` with ``fn`` run in the helper, ``prefetch`` items ahead.

        ``fn`` must be a module-level function and its inputs and results picklable. An
        exception raised by ``fn`` reaches the consumer as it would inline.

        The helper takes half a second or more to start (a process and the imports), and this
        process does not wait for it: until the helper's first result, the next item is done
        here whenever the helper has nothing ready. In order (the default), that is the oldest
        item, whose call in the helper is cancelled (or, if already running there, ignored);
        with ``ordered=False`` results may come in any order and the next new item is done here,
        for as long as the helper has nothing ready. After the start the helper keeps ahead.
        """
        source = iter(items)
        failed: list[Exception] = []  # the source's own error: raised once what came before it is out

        def take() -> Any:
            if failed:
                return _END
            try:
                return next(source, _END)
            except Exception as exc:  # not the helper's failure: the consumer's, in its place
                failed.append(exc)
                return _END

        window: deque[tuple[In, Future[Out]]] = deque()
        taken: list[In] = []  # out of the source but not yet in the window (a submit that failed)
        pool = self._executor()
        started = False
        skipped: deque[Future[Out]] = deque(maxlen=8)  # calls done here that the helper may still run
        while pool is not None:
            here: Any = _END  # an item to do in this process, outside the ``try``: its errors are the consumer's
            try:
                while len(window) <= prefetch:
                    item = take()
                    if item is _END:
                        break
                    taken.append(item)
                    window.append((item, pool.submit(fn, item)))
                    taken.clear()
                if not window:
                    break
                if not window[0][1].done():
                    if not ordered:
                        here = take()
                    elif not started and any(f.done() and not f.cancelled() for f in skipped):
                        started = True  # the helper is up: it finished an item done here
                    elif not started:
                        here, ahead = window.popleft()
                        if not ahead.cancel():
                            skipped.append(ahead)
                if here is _END:
                    started = True
                    yield window[0][1].result()
                    window.popleft()  # only once delivered: a broken pool redoes what is left
                    continue
            except (BrokenProcessPool, OSError, RuntimeError) as exc:
                # RuntimeError: the pool cannot start a process (e.g. __main__ cannot be imported)
                self._give_up(exc)
                break
            yield fn(here)
        for item, _future in window:
            yield fn(item)
        for item in taken:
            yield fn(item)
        while (item := take()) is not _END:
            yield fn(item)
        if failed:
            raise failed[0]

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


__all__ = ["PREFETCH", "HelperProcess"]
