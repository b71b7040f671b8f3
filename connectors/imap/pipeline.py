"""Header batches with the network, the parser and the database working at the same time.

A large initial sync costs three things per message: the FETCH (server and network), turning
header bytes into a record (``parse_header_bytes``), and the store's write. Done one after the
other they add up; the floor any client pays is the FETCH alone. So, from ``PARALLEL_MIN``
messages on, header parsing runs in a forkserver helper process (as the Maildir connector does:
the daemon has threads and database connections a plain fork must not copy), while a thread of
this process fetches up to ``PREFETCH`` batches ahead and the engine writes the previous one.
Small pulls (the usual incremental pass) parse inline: starting a process would cost more.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from kith.connectors.base import Batch, MessageRecord, Problem
from kith.connectors.imap.fetch import GMAIL_ITEMS, HEADER_ITEMS, build_records, uid_fetch

log = logging.getLogger(__name__)

#: From this many messages on, parsing runs in a helper process.
PARALLEL_MIN = 4000
#: Batches parsed ahead of the store at most; bounds memory whatever the speeds.
PREFETCH = 2

Built = tuple[list[MessageRecord], list[Problem], dict[str, str]]


def build(fetched: dict[int, dict[bytes, Any]], uidvalidity: int, gmail: bool) -> Built:
    """Records of one FETCH answer; a module function so a helper process can run it."""
    records, problems, versions = build_records(fetched, uidvalidity, gmail=gmail)
    if gmail:
        records = [r for r in records if "\\Draft" not in r.labels]
    return records, problems, versions


def header_batches(
    session: Any, uids: list[int], uidvalidity: int, batch_size: int
) -> Iterator[tuple[list[int], int, Batch]]:
    """(UIDs asked for, messages returned, batch without cursor) per chunk of ``uids``, in order."""
    items = HEADER_ITEMS + (GMAIL_ITEMS if session.gmail else ())
    chunks = [uids[i : i + batch_size] for i in range(0, len(uids), batch_size)]

    def fetch(chunk: list[int]) -> dict[int, dict[bytes, Any]]:
        fetched, _vanished = uid_fetch(session.client, chunk, items, stats=session.stats)
        return fetched

    def batch(built: Built) -> Batch:
        records, problems, versions = built
        return Batch(upserts=tuple(records), problems=tuple(problems), versions=versions)

    if len(uids) < PARALLEL_MIN:
        for chunk in chunks:
            fetched = fetch(chunk)
            yield chunk, len(fetched), batch(build(fetched, uidvalidity, session.gmail))
        return
    yield from _parallel(chunks, fetch, batch, uidvalidity, session.gmail)


class _FetchFailed(Exception):
    """Carries an error of the fetching thread to the generator, past the fallback handler."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(str(original))
        self.original = original


def _parallel(
    chunks: list[list[int]], fetch: Any, batch: Any, uidvalidity: int, gmail: bool
) -> Iterator[tuple[list[int], int, Batch]]:
    """Fetch in a thread, parse in a helper process, yield in order while the engine writes.

    Only the fetching thread uses the connection until this generator is exhausted or closed
    (closing waits for the thread), so the caller can use it again afterwards.
    """
    import multiprocessing
    import queue
    import threading
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    done = 0
    try:
        ctx = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
            ready: queue.Queue[Any] = queue.Queue()
            room = threading.Semaphore(PREFETCH)
            stop = threading.Event()

            def produce() -> None:
                try:
                    for chunk in chunks:
                        while not room.acquire(timeout=0.1):
                            if stop.is_set():
                                return
                        if stop.is_set():
                            return
                        fetched = fetch(chunk)
                        ready.put((chunk, len(fetched), pool.submit(build, fetched, uidvalidity, gmail)))
                    ready.put(None)
                except BaseException as exc:  # handed to the consumer, raised there
                    ready.put(_FetchFailed(exc))

            thread = threading.Thread(target=produce, name="imap-fetch", daemon=True)
            thread.start()
            try:
                while True:
                    item = ready.get()
                    if item is None:
                        break
                    if isinstance(item, _FetchFailed):
                        raise item
                    chunk, count, future = item
                    built = future.result()
                    room.release()
                    yield chunk, count, batch(built)
                    done += 1
            finally:
                stop.set()
                thread.join()
    except _FetchFailed as failed:
        raise failed.original from None
    except (BrokenProcessPool, OSError) as exc:
        log.warning("parallel header parsing unavailable (%s); parsing in this process", exc)
        for chunk in chunks[done:]:
            fetched = fetch(chunk)
            yield chunk, len(fetched), batch(build(fetched, uidvalidity, gmail))


__all__ = ["PARALLEL_MIN", "PREFETCH", "build", "header_batches"]
