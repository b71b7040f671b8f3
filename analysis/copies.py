"""Reading the stored copies of each message (the first thing a fact is made of).

One query per pass (``kith.store.analysis_reads.copy_rows``) brings each message row with its locations (folder role, flags, labels) and
whether one of my addresses is in its To or Cc, so nothing per message is held aside in memory
(a rebuild of a million messages used to keep a location map of ~200 MB next to the facts).

The rebuild reads the messages in table order, which is a sequential scan; in key order every
row is a random read once the table outgrows the page cache (measured 2.5x slower at 300k
messages). Copies of one message key must arrive together, so keys stored more than once (the
same Message-ID in two of my mailboxes) are left out of that pass and read by key afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from kith.analysis.facts import Copy
from kith.analysis.identity import Identities
from kith.analysis.load import raw_forms
from kith.store.analysis_reads import copy_rows, copy_rows_of, multi_copy_keys
from kith.store.fastread import as_utc


def _copies(rows: Iterable[tuple[Any, ...]]) -> Iterator[Copy]:
    """One ``Copy`` per message from rows ordered by message (one row per location, or one
    without a location); a message's flags, labels and folder roles are space-joined."""
    loads = json.loads
    last: Copy | None = None
    for r in rows:
        row_id = r[0]
        loc_id, flags, labels, role = r[21:25]
        if last is not None and last.row_id == row_id:
            last.flags = f"{last.flags} {flags or ''}"
            last.labels = f"{last.labels} {labels or ''}"
            last.roles = f"{last.roles} {role}"
            continue
        if last is not None:
            yield last
        refs, date, received = r[6], r[8], r[9]
        last = Copy(
            row_id,
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            None if refs is None else loads(refs),
            r[7],
            None if date is None else as_utc(date),
            None if received is None else as_utc(received),
            r[10],
            r[11:17],
            r[17] or 0,
            r[18] is not None,
            "" if loc_id is None else flags or "",
            "" if loc_id is None else labels or "",
            "" if loc_id is None else role,
            bool(r[19]),
            bool(r[20]),
        )
    if last is not None:
        yield last


@dataclass(frozen=True)
class Part:
    """A share of a rebuild's messages: the single-copy ones with ``lo <= id < hi`` (None: no
    bound), and with ``multi`` the keys stored more than once. Two processes deriving ``Part(None,
    m, True)`` and ``Part(m, None, False)`` between them derive every message exactly once."""

    lo: int | None
    hi: int | None
    multi: bool


def copy_groups(
    conn: Connection, ident: Identities, keys: Sequence[str] | None = None, *, part: Part | None = None
) -> Iterator[list[Copy]]:
    """The copies of each message, one list per message key (of ``keys``, of ``part`` or of every message).

    Copies of a key come in row order. With ``keys`` the groups come in key order; without, the
    single-copy messages come first in table order, then the rest in key order.
    """
    me_raw = sorted(raw_forms(ident, ident.me))
    if keys is None:
        multi = multi_copy_keys(conn)
        lo = part.lo if part is not None else None
        hi = part.hi if part is not None else None
        for copy in _copies(copy_rows(conn, me_raw, lo=lo, hi=hi)):
            if copy.key not in multi:
                yield [copy]
        keys = sorted(multi) if part is None or part.multi else []
    group: list[Copy] = []
    for copy in _copies(copy_rows_of(conn, me_raw, keys)):
        if group and copy.key != group[0].key:
            yield group
            group = []
        group.append(copy)
    if group:
        yield group


__all__ = ["Part", "copy_groups"]
