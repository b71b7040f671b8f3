"""Apply a batch so that one record the database refuses never blocks its stream.

A batch and its cursor normally land in one transaction. When that transaction fails because of
a record (``kith.store.faults.record_fault``: a value the database cannot hold), the batch is
split in halves, each applied in its own transaction without the cursor, until the record(s) at
fault stand alone; each is recorded as a problem that names only that item (its provider key and
the database's words, never the statement's parameters, which hold other people's messages).
Then the rest of the batch (flag changes, deletions, problems) and the cursor are applied, so the
stream moves on. Finding k bad records among n takes about k·log2(n) transactions.

An error that is the database's (gone, locked, full) is raised as it is: the cursor stays, and
the batch is pulled again later. So is a batch of ``SYSTEMIC_MIN`` items or more in which
*every* item fails on its own: that is not a stranger's record but a database (or a bug) that
refuses everything, and skipping the whole batch would lose good mail.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

from sqlalchemy import Engine

from kith.connectors.base import Batch, Problem
from kith.store.faults import describe, record_fault
from kith.store.ingest import Applied, StreamRef, apply_batch

log = logging.getLogger(__name__)

T = TypeVar("T")
#: A batch this large whose every item fails alone is the database's fault, not the items'.
SYSTEMIC_MIN = 8


def apply_isolating(engine: Engine, ref: StreamRef, batch: Batch, where: str = "") -> Applied:
    """Apply ``batch`` (see the module docstring); ``where`` names the stream in log lines."""
    try:
        return _apply(engine, ref, batch)
    except Exception as exc:
        if not record_fault(exc):
            raise
        first = exc
    log.warning(
        "%s: a batch of %d items could not be stored (%s); finding the item(s) at fault",
        where,
        len(batch),
        describe(first),
    )
    out = Applied()
    bad: list[Problem] = []
    parts: list[tuple[Sequence[object], Callable[[Sequence[object]], Batch], Callable[[object], str]]] = [
        (batch.upserts, lambda items: Batch(upserts=tuple(items), versions=batch.versions), _key),  # type: ignore[arg-type]
        (batch.flag_updates, lambda items: Batch(flag_updates=tuple(items)), _key),  # type: ignore[arg-type]
        (batch.deletions, lambda items: Batch(deletions=tuple(items)), str),  # type: ignore[arg-type]
    ]
    items = 0
    for seq, make, key in parts:
        items += len(seq)
        if seq:
            _bisect(engine, ref, list(seq), make, key, out, bad)
    if items >= SYSTEMIC_MIN and len(bad) == items:
        raise first  # everything refused one by one: the database's fault, not the records'
    rest = Batch(problems=(*batch.problems, *bad), cursor=batch.cursor)
    out.add(_apply(engine, ref, rest))
    for p in bad:
        log.warning("%s: item %s skipped: %s", where, p.provider_key, p.message)
    return out


def _key(item: object) -> str:
    return str(getattr(item, "provider_key", "?"))


def _bisect(
    engine: Engine,
    ref: StreamRef,
    items: list[T],
    make: Callable[[Sequence[T]], Batch],
    key: Callable[[T], str],
    out: Applied,
    bad: list[Problem],
) -> None:
    """Apply ``items`` in one transaction, or else each half of them; a single failing item is
    recorded in ``bad``."""
    try:
        out.add(_apply(engine, ref, make(items)))
        return
    except Exception as exc:
        if not record_fault(exc):
            raise
        if len(items) == 1:
            bad.append(Problem(key(items[0]), f"could not be stored, skipped: {describe(exc)}"))
            return
    half = len(items) // 2
    _bisect(engine, ref, items[:half], make, key, out, bad)
    _bisect(engine, ref, items[half:], make, key, out, bad)


def _apply(engine: Engine, ref: StreamRef, batch: Batch) -> Applied:
    with engine.begin() as conn:
        return apply_batch(conn, ref, batch)


__all__ = ["SYSTEMIC_MIN", "apply_isolating"]
