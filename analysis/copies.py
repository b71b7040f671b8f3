"""Reading the stored copies of each message (the first thing a fact is made of).

One query per pass brings each message row with its locations (folder role, flags, labels) and
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

from sqlalchemy import Connection, exists, false, func, select

from kith.analysis.facts import Copy
from kith.analysis.identity import Identities
from kith.analysis.load import HEADER_COLUMNS, LOC, MSG, PART, STREAM, in_chunks, raw_forms
from kith.store.fastread import as_utc, plain_rows


def _columns(me_raw: list[str]) -> list[Any]:
    def addressed(role: str) -> Any:
        if not me_raw:
            return false()
        return exists().where(PART.c.message_id == MSG.c.id, PART.c.role == role, PART.c.address.in_(me_raw))

    return [
        MSG.c.id,
        MSG.c.mailbox_id,
        MSG.c.message_key,
        MSG.c.message_id,
        MSG.c.thread_id,
        MSG.c.in_reply_to,
        MSG.c.references,
        MSG.c.subject,
        MSG.c.date,
        MSG.c.received,
        MSG.c.from_addr,
        *(MSG.c[h] for h in HEADER_COLUMNS),
        MSG.c.recipient_count,
        MSG.c.deleted_at,
        addressed("to"),
        addressed("cc"),
        LOC.c.id,
        LOC.c.flags,
        LOC.c.labels,
        STREAM.c.role,
    ]


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
    base = select(*_columns(sorted(raw_forms(ident, ident.me)))).select_from(
        MSG.outerjoin(LOC, LOC.c.message_id == MSG.c.id).outerjoin(STREAM, STREAM.c.id == LOC.c.stream_id)
    )
    if keys is None:
        counted = select(MSG.c.message_key).group_by(MSG.c.message_key).having(func.count() > 1)
        multi = {k for (k,) in plain_rows(conn, counted)}
        q = base.order_by(MSG.c.id, LOC.c.id)
        if part is not None and part.lo is not None:
            q = q.where(MSG.c.id >= part.lo)
        if part is not None and part.hi is not None:
            q = q.where(MSG.c.id < part.hi)
        for copy in _copies(plain_rows(conn, q, stream=True)):
            if copy.key not in multi:
                yield [copy]
        keys = sorted(multi) if part is None or part.multi else []
    for clause in in_chunks(conn, MSG.c.message_key, keys):
        group: list[Copy] = []
        q = base.where(clause).order_by(MSG.c.message_key, MSG.c.id, LOC.c.id)
        for copy in _copies(plain_rows(conn, q, stream=True)):
            if group and copy.key != group[0].key:
                yield group
                group = []
            group.append(copy)
        if group:
            yield group


__all__ = ["Part", "copy_groups"]
