"""The recent window of a folder, newest first (``RecentFirst``, issue 28).

``UID SEARCH SINCE <date>`` (RFC 3501 §6.4.4: by INTERNALDATE, the arrival, at day precision)
names the messages that arrived in the window; their headers are fetched by the same pipeline as
a full pull, highest UID (the latest arrival) first. No cursor comes out: the full pull that
follows resumes nothing from here and fetches the folder whole, so the result is a plain full
sync's. The folder is released afterwards, so that pull's STATUS sees the server's state.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from kith.connectors.base import Batch, Stream
from kith.connectors.imap.pipeline import header_batches
from kith.connectors.imap.sync import Session


def pull_recent(session: Session, stream: Stream, since: datetime, batch_size: int) -> Iterator[Batch]:
    session.release()
    selected = session.examine(stream.name)
    validity = int(selected[b"UIDVALIDITY"])
    session.stats["search"] += 1
    uids = sorted(session.client.search(["SINCE", since.date()]), reverse=True)
    if len(uids) * 2 > int(selected.get(b"EXISTS", 0)):  # most of the folder: the full pull alone
        session.release()
        return
    try:
        for _chunk, _count, batch in header_batches(session, uids, validity, batch_size, session.helper):
            yield batch
    finally:
        session.release()


__all__ = ["pull_recent"]
