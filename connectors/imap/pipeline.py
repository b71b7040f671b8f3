"""Header batches with the network, the parsing and the database working at the same time.

A large initial sync costs three things per message: the FETCH (Dovecot's work, the network
and reading the answer), turning header bytes into a record (``parse_header_bytes``), and the
store's write. From ``PARALLEL_MIN`` messages on, a helper thread fetches up to ``PREFETCH``
batches ahead; from ``HELPER_MIN`` on, a helper process (``connectors.parallel``, as for
Maildir) also builds the records, so this process is left with the reading and the store.
Small pulls (the usual incremental pass) stay sequential, in this process.

Why a process now: with the answers read by ``wire`` (not imaplib and imapclient), Dovecot with
a warm cache used 0.16 s of CPU for 10k messages, and parsing the headers was this process's
largest cost (about 60 us a message, against 10 us to unpickle the record). An earlier attempt,
while reading the answers still cost more than parsing them, lost: 1.9-2.4x the floor against
1.5-1.6x inline at 20k messages.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from typing import Any

from kith.connectors.base import Batch
from kith.connectors.imap.fetch import GMAIL_ITEMS, HEADER_ITEMS, build_records, uid_fetch
from kith.connectors.parallel import HelperProcess

log = logging.getLogger(__name__)

#: From this many messages on, fetching runs ahead in a helper thread.
PARALLEL_MIN = 2000
#: From this many messages on, records are built in the helper process: it takes 0.5-0.75 s
#: to start, which a pull of 10k messages does not win back (measured, best of 4 alternated:
#: 1.70 s with it, 1.56 s without; at 50k, 7.2 s with it, 9.4 s without, the floor 6.7 s).
HELPER_MIN = 20_000
#: Batches fetched ahead of the store at most; bounds memory whatever the speeds.
PREFETCH = 2

Fetched = dict[int, dict[bytes, Any]]


def build(fetched: Fetched, uidvalidity: int, gmail: bool) -> Batch:
    """The batch (without cursor) for one FETCH answer; Gmail drafts are left out."""
    records, problems, versions = build_records(fetched, uidvalidity, gmail=gmail)
    if gmail:
        records = [r for r in records if "\\Draft" not in r.labels]
    return Batch(upserts=tuple(records), problems=tuple(problems), versions=versions)


Job = tuple[list[int], Fetched, int, bool]


def build_job(job: Job) -> tuple[list[int], int, Batch]:
    """(UIDs asked for, messages returned, batch) for one fetched chunk; run in the helper."""
    chunk, fetched, uidvalidity, gmail = job
    return chunk, len(fetched), build(fetched, uidvalidity, gmail)


def header_batches(
    session: Any, uids: list[int], uidvalidity: int, batch_size: int, helper: HelperProcess | None = None
) -> Iterator[tuple[list[int], int, Batch]]:
    """(UIDs asked for, messages returned, batch without cursor) per chunk of ``uids``, in order."""
    items = HEADER_ITEMS + (GMAIL_ITEMS if session.gmail else ())
    chunks = [uids[i : i + batch_size] for i in range(0, len(uids), batch_size)]

    def fetch(chunk: list[int]) -> Fetched:
        fetched, _vanished = uid_fetch(session.client, chunk, items, stats=session.stats)
        return fetched

    if len(uids) < PARALLEL_MIN:
        for chunk in chunks:
            yield build_job((chunk, fetch(chunk), uidvalidity, session.gmail))
        return
    jobs = ((chunk, fetched, uidvalidity, session.gmail) for chunk, fetched in _ahead(chunks, fetch))
    if helper is None or len(uids) < HELPER_MIN:
        yield from map(build_job, jobs)
    else:
        yield from helper.map(build_job, jobs)


class _FetchFailed(Exception):
    def __init__(self, original: BaseException) -> None:
        super().__init__(str(original))
        self.original = original


def _ahead(chunks: list[list[int]], fetch: Any) -> Iterator[tuple[list[int], Fetched]]:
    """Fetch in a helper thread, ``PREFETCH`` chunks ahead, results in order.

    Only the helper uses the connection until this generator is exhausted or closed (closing
    waits for it), so the caller can use the connection again afterwards. An error of the
    helper is raised here, in the consumer, where the source maps it to a kith error.
    """
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
                ready.put((chunk, fetch(chunk)))
            ready.put(None)
        except BaseException as exc:  # handed to the consumer
            ready.put(_FetchFailed(exc))

    thread = threading.Thread(target=produce, name="imap-fetch", daemon=True)
    thread.start()
    try:
        while True:
            item = ready.get()
            if item is None:
                return
            if isinstance(item, _FetchFailed):
                raise item.original
            room.release()
            yield item
    finally:
        stop.set()
        thread.join()


__all__ = ["HELPER_MIN", "PARALLEL_MIN", "PREFETCH", "build", "build_job", "header_batches"]
