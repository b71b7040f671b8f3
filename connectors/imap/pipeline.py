"""Header batches with the network, the parser and the database working at the same time.

A large initial sync costs three things per message: the FETCH (server and network), turning
header bytes into a record (``parse_header_bytes``), and the store's write. Done one after the
other they add up; the floor any client pays is the FETCH alone. So, from ``PARALLEL_MIN``
messages on, header parsing runs in a forkserver helper process (as the Maildir connector does:
the daemon has threads and database connections a plain fork must not copy), ``PREFETCH``
batches ahead, while this process fetches the next batch and the engine writes the previous one.
Small pulls (the usual incremental pass) parse inline: starting a process would cost more.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future
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


def _parallel(
    chunks: list[list[int]], fetch: Any, batch: Any, uidvalidity: int, gmail: bool
) -> Iterator[tuple[list[int], int, Batch]]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    done = 0
    try:
        ctx = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
            window: deque[tuple[list[int], int, Future[Built]]] = deque()
            for chunk in chunks:
                fetched = fetch(chunk)
                window.append((chunk, len(fetched), pool.submit(build, fetched, uidvalidity, gmail)))
                if len(window) > PREFETCH:
                    first, count, future = window.popleft()
                    yield first, count, batch(future.result())
                    done += 1
            while window:
                first, count, future = window.popleft()
                yield first, count, batch(future.result())
                done += 1
    except (BrokenProcessPool, OSError) as exc:
        log.warning("parallel header parsing unavailable (%s); parsing in this process", exc)
        for chunk in chunks[done:]:
            fetched = fetch(chunk)
            yield chunk, len(fetched), batch(build(fetched, uidvalidity, gmail))


__all__ = ["PARALLEL_MIN", "PREFETCH", "build", "header_batches"]
