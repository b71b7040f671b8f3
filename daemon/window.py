"""First flags early (issue 28): on a stream's first sync, the recent window before the rest.

A fresh install with a 15-year mailbox would otherwise wait for the whole history before the
first analysis. So when a mailbox has streams that were never synced, the engine first pulls the
last ``[daemon] first_window`` of each of them from every source that can (``RecentFirst``:
IMAP by ``SEARCH SINCE``, Maildir by delivery time), newest first, applies it like any batch
(no cursor moves), and hands what it touched to the analysis at once: the first flags come
while the full pull of each stream, the backfill, goes on. That pull is the plain one and stores
the cursor; the window's records come again and are applied idempotently (a Maildir pull skips
the files it already knows), so the end result is exactly a plain full sync's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from kith.connectors.base import Batch, RecentFirst, Source, Stream
from kith.daemon.batches import apply_isolating
from kith.errors import AuthError, StoreError
from kith.store.engine import Store
from kith.store.state import StreamState

log = logging.getLogger(__name__)

#: touched addresses -> None: the analysis of the window (the daemon's analysis thread)
OnWindow = Callable[[set[str]], None]


def fresh(listed: Sequence[tuple[Source, Stream]], states: dict[str, StreamState]) -> list[tuple[RecentFirst, Stream]]:
    """The mail streams never synced (no cursor) whose source can pull a recent window."""
    return [
        (source, stream)
        for source, stream in listed
        if isinstance(source, RecentFirst) and not stream.is_calendar and states[stream.name].cursor is None
    ]


def sync_window(
    store: Store,
    mailbox: str,
    streams: Sequence[tuple[RecentFirst, Stream]],
    states: dict[str, StreamState],
    *,
    window: timedelta,
    now: datetime,
    stop: Callable[[], bool],
    prepare: Callable[[Batch, Stream], Batch],
) -> tuple[int, set[str]]:
    """Apply the last ``window`` of each stream; returns (messages applied, addresses touched).

    A stream whose window fails is left to its full pull (which reports the error if it is
    lasting): the window only brings the first flags forward, it is never needed for them.
    """
    since = now - window
    applied, touched = 0, set()
    for source, stream in streams:
        if stop():
            break
        try:
            for raw in source.pull_recent(stream, since):
                batch = prepare(raw, stream)  # sanitized, commands taken out: as the full pull does
                done = apply_isolating(store.engine, states[stream.name].ref, batch, f"{mailbox}/{stream.name}")
                applied += done.upserts
                touched |= done.touched
                if stop():
                    break
        except (AuthError, StoreError):
            raise  # the full pull could not do better
        except Exception as exc:  # the full pull that follows syncs this stream all the same
            log.warning("%s/%s: recent window failed (%s); syncing it whole", mailbox, stream.name, exc)
    if applied:
        log.info("mailbox %s: %d recent messages synced first; now the rest", mailbox, applied)
    return applied, touched


__all__ = ["OnWindow", "fresh", "sync_window"]
