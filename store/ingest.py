"""Apply one connector ``Batch`` to the store: upserts, flag changes, deletions, problems, cursor.

The caller runs this inside one transaction, so a batch and its cursor land together or not at
all. Everything here is idempotent: re-applying a batch after a crash changes nothing.

A message is one row per mailbox (``message_key``: the Message-ID, else a digest of the headers);
each folder copy is a ``message_locations`` row. Only true copies share a row: a Message-ID is
the message's identity together with its From and Date (DESIGN: "A message"), so a message that
arrives with the Message-ID of a stored one but another From or Date is a different message
(anyone can copy an id; they would otherwise overwrite, or hide, the real message). It is stored
under its own key (``reused_key``) with a problem saying so; the first message stored with an id
keeps the plain key, in every mailbox alike, so copies in two mailboxes still meet. A message whose last location goes away is
marked ``deleted_at`` rather than removed, so ids, flags and history that point at it survive a
move between folders that arrives as delete-then-add.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, exists, select, update
from sqlalchemy.orm import Session

from kith.connectors.base import Batch, EventRecord, MessageRecord
from kith.store.identity import identity, message_key, resolve_keys, reused_key
from kith.store.ingest_events import apply_events, delete_events
from kith.store.models import utcnow
from kith.store.tables import LOCATION, MESSAGE, PARTICIPANT, PROBLEM, QUEUE, STREAM
from kith.store.upsert import chunks, key_map, upsert, upsert_tuples

_MESSAGE_UPDATE = (
    "message_id",
    "thread_id",
    "in_reply_to",
    "references",
    "subject",
    "date",
    "received",
    "from_addr",
    "from_name",
    "sender_addr",
    "list_id",
    "list_unsubscribe",
    "list_post",
    "precedence",
    "auto_submitted",
    "return_path",
    "size",
    "recipient_count",
    "problems",
    "updated_at",
    "deleted_at",
)


@dataclass(frozen=True, slots=True)
class StreamRef:
    """The ids a batch is applied under; a plain value so no ORM state is involved."""

    id: int
    mailbox_id: int


@dataclass
class Applied:
    """What one batch changed; ``touched`` feeds the incremental analysis."""

    upserts: int = 0
    flag_updates: int = 0
    deletions: int = 0
    problems: int = 0
    touched: set[str] = field(default_factory=set)
    touched_events: bool = False
    #: message rows whose headers, flags or locations changed (queued for the analysis)
    touched_messages: set[int] = field(default_factory=set)
    #: people a re-synced message named before and no longer does (queued by address)
    dropped: set[str] = field(default_factory=set)

    def add(self, more: Applied) -> None:
        """Count ``more`` in: the parts of one batch applied one after the other (a split)."""
        for count in ("upserts", "flag_updates", "deletions", "problems"):
            setattr(self, count, getattr(self, count) + getattr(more, count))
        for found in ("touched", "touched_messages", "dropped"):
            getattr(self, found).update(getattr(more, found))
        self.touched_events |= more.touched_events


#: Column order of the tuples ``_message_tuple`` builds: the conflict key, then what it updates.
_MESSAGE_COLUMNS = ("mailbox_id", "message_key", *_MESSAGE_UPDATE)


def _message_tuple(rec: MessageRecord, mailbox_id: int, key: str, now: Any) -> tuple[Any, ...]:
    """One ``messages`` row in ``_MESSAGE_COLUMNS`` order: a tuple, not a dict, because the
    driver binds tuples and ``upsert_tuples`` converts them a column at a time (measured: the
    dicts and their per-value conversion were nearly half of the ingest's Python time)."""
    f, s = rec.from_, rec.sender
    return (
        mailbox_id,
        key,
        rec.message_id,
        rec.thread_id,
        rec.in_reply_to,
        list(rec.references) if rec.references else None,
        rec.subject,
        rec.date,
        rec.received,
        f.address if f else None,
        f.name if f else None,
        s.address if s else None,
        rec.list_id,
        rec.list_unsubscribe,
        rec.list_post,
        rec.precedence,
        rec.auto_submitted,
        rec.return_path,
        rec.size,
        len(rec.to) + len(rec.cc) + len(rec.bcc),
        list(rec.problems) if rec.problems else None,
        now,
        None,
    )


@lru_cache(maxsize=256)
def _flag_text(flags: frozenset[str]) -> str:
    """Flags or labels as stored: sorted, space-separated. A mailbox has few distinct sets, so
    each is sorted and joined once rather than once a message (``frozenset()`` of a frozenset
    is the same object, so callers pass any set through it for free)."""
    return " ".join(sorted(flags))


#: Column order of the location tuples: the conflict key, then what a re-sync overwrites.
_LOC_COLUMNS = ("stream_id", "provider_key", "message_id", "flags", "labels", "version")

#: Column order of the tuples ``_participants`` yields.
_PART_COLUMNS = ("message_id", "role", "position", "address", "name")


def _participants(rec: MessageRecord, message_id: int) -> Iterator[tuple[int, str, int, str, str]]:
    """(message id, role, position, address, name) rows, in ``_PART_COLUMNS`` order."""
    if rec.from_:
        yield (message_id, "from", 0, rec.from_.address, rec.from_.name[:500])
    if rec.sender:
        yield (message_id, "sender", 0, rec.sender.address, rec.sender.name[:500])
    for role, addrs in (("reply_to", rec.reply_to), ("to", rec.to), ("cc", rec.cc), ("bcc", rec.bcc)):
        for pos, a in enumerate(addrs):
            yield (message_id, role, pos, a.address, a.name[:500])


def _ids_for(conn: Connection, mailbox_id: int, keys: Sequence[str]) -> dict[str, int]:
    return key_map(conn, MESSAGE, "message_key", "id", ("mailbox_id", mailbox_id), keys)


def _location_targets(conn: Connection, stream_id: int, keys: Sequence[str]) -> dict[str, int]:
    return key_map(conn, LOCATION, "provider_key", "message_id", ("stream_id", stream_id), keys)


def _participant_addresses(conn: Connection, message_ids: Iterable[int]) -> list[tuple[int, str, str]]:
    """(message id, role, address) of the stored participants of these messages."""
    found: list[tuple[int, str, str]] = []
    for chunk in chunks(sorted(set(message_ids))):
        q = select(PARTICIPANT.c.message_id, PARTICIPANT.c.role, PARTICIPANT.c.address).where(
            PARTICIPANT.c.message_id.in_(chunk)
        )
        found += [(m, role, a) for m, role, a in conn.execute(q)]
    return found


def _addresses_of(conn: Connection, message_ids: Iterable[int]) -> set[str]:
    return {a for _m, _role, a in _participant_addresses(conn, message_ids)}


def sweep_orphans(conn: Connection, message_ids: Iterable[int], now: Any) -> None:
    """Mark messages that no location holds any more as deleted."""
    ids = sorted(set(message_ids))
    no_location = ~exists().where(LOCATION.c.message_id == MESSAGE.c.id)
    for chunk in chunks(ids):
        conn.execute(update(MESSAGE).where(MESSAGE.c.id.in_(chunk), no_location).values(deleted_at=now))


def _apply_messages(conn: Connection, stream: StreamRef, batch: Batch, recs: list[MessageRecord], out: Applied) -> None:
    now = utcnow()
    by_key: dict[str, MessageRecord] = {}
    keys_of: dict[str, str] = {}
    for key, rec in resolve_keys(conn, stream.id, stream.mailbox_id, recs):
        keys_of[rec.provider_key] = key
        prev = by_key.get(key)
        # two copies of one message in a batch (INBOX + All Mail): keep the one that knows more
        if prev is None or len(rec.bcc) > len(prev.bcc) or (rec.date and not prev.date):
            by_key[key] = rec
    existing = _ids_for(conn, stream.mailbox_id, list(by_key))
    rows = [_message_tuple(r, stream.mailbox_id, k, now) for k, r in by_key.items()]
    for chunk in chunks(rows):
        upsert_tuples(
            conn, MESSAGE, _MESSAGE_COLUMNS, chunk, keys=("message_key", "mailbox_id"), update=_MESSAGE_UPDATE
        )
    # Graph's webLink: only its records have one, so only their batches pay for the column
    links = [{"mb": stream.mailbox_id, "key": k, "link": r.web_link} for k, r in by_key.items() if r.web_link]
    if links:
        where = (MESSAGE.c.mailbox_id == bindparam("mb")) & (MESSAGE.c.message_key == bindparam("key"))
        conn.execute(update(MESSAGE).where(where).values(web_link=bindparam("link")), links)
    ids = {**existing, **_ids_for(conn, stream.mailbox_id, [k for k in by_key if k not in existing])}

    # Participants: rewrite from the new headers, but keep a stored Bcc that this copy lacks
    # (only my Sent copy knows the Bcc; the INBOX copy of the same mail does not). Messages new
    # to the store have no participants yet: only the known ones need the delete.
    with_bcc = [existing[k] for k, r in by_key.items() if r.bcc and k in existing]
    before = _participant_addresses(conn, existing.values())
    for chunk in chunks(list(existing.values())):
        conn.execute(delete(PARTICIPANT).where(PARTICIPANT.c.message_id.in_(chunk), PARTICIPANT.c.role != "bcc"))
    for chunk in chunks(with_bcc):
        conn.execute(delete(PARTICIPANT).where(PARTICIPANT.c.message_id.in_(chunk), PARTICIPANT.c.role == "bcc"))
    parts = [p for k, r in by_key.items() for p in _participants(r, ids[k])]
    if before:
        # someone a copy no longer names is out of that message: the analysis must hear of them
        # by address, since the message's participant rows will not name them any more
        now_named = {(p[0], p[3]) for p in parts}
        bcc_rewritten = set(with_bcc)
        out.dropped |= {a for m, role, a in before if (m, a) not in now_named and (role != "bcc" or m in bcc_rewritten)}
    for chunk in chunks(parts):
        upsert_tuples(conn, PARTICIPANT, _PART_COLUMNS, list(chunk), keys=_PART_COLUMNS[:3], update=_PART_COLUMNS[3:])

    previous = _location_targets(conn, stream.id, [r.provider_key for r in recs])
    versions = batch.versions
    locs = [
        (
            stream.id,
            r.provider_key,
            ids[keys_of[r.provider_key]],
            _flag_text(frozenset(r.flags)) if r.flags else "",
            _flag_text(frozenset(r.labels)) if r.labels else "",
            versions.get(r.provider_key),
        )
        for r in {r.provider_key: r for r in recs}.values()
    ]
    for chunk in chunks(locs):
        upsert_tuples(conn, LOCATION, _LOC_COLUMNS, chunk, keys=_LOC_COLUMNS[:2], update=_LOC_COLUMNS[2:])
    moved_from = [old for key, old in previous.items() if old != ids[keys_of[key]]]
    out.touched_messages.update(ids.values())
    out.touched_messages.update(moved_from)
    if moved_from:
        out.touched |= _addresses_of(conn, moved_from)
        sweep_orphans(conn, moved_from, now)
    out.touched.update(p[3] for p in parts)
    out.upserts += len(recs)


def _apply_flag_updates(conn: Connection, stream: StreamRef, batch: Batch, out: Applied) -> None:
    if not batch.flag_updates:
        return
    targets = _location_targets(conn, stream.id, [f.provider_key for f in batch.flag_updates])
    for fu in batch.flag_updates:
        values: dict[str, Any] = {"flags": " ".join(sorted(fu.flags))}
        if fu.labels is not None:
            values["labels"] = " ".join(sorted(fu.labels))
        conn.execute(
            update(LOCATION)
            .where(and_(LOCATION.c.stream_id == stream.id, LOCATION.c.provider_key == fu.provider_key))
            .values(**values)
        )
    out.touched |= _addresses_of(conn, targets.values())
    out.touched_messages.update(targets.values())
    out.flag_updates += len(batch.flag_updates)


def _apply_deletions(conn: Connection, stream: StreamRef, batch: Batch, out: Applied) -> None:
    if not batch.deletions:
        return
    keys = list(dict.fromkeys(batch.deletions))
    targets = _location_targets(conn, stream.id, keys)
    for chunk in chunks(keys):
        conn.execute(delete(LOCATION).where(LOCATION.c.stream_id == stream.id, LOCATION.c.provider_key.in_(chunk)))
    if targets:
        out.touched |= _addresses_of(conn, targets.values())
        out.touched_messages.update(targets.values())
        sweep_orphans(conn, targets.values(), utcnow())
    # calendar streams: provider keys name events
    named = delete_events(conn, stream.id, keys)
    if named is not None:
        out.touched |= named
        out.touched_events = True
    out.deletions += len(keys)


def _apply_problems(conn: Connection, stream: StreamRef, batch: Batch, out: Applied) -> None:
    rows = [
        {"stream_id": stream.id, "provider_key": p.provider_key, "message": p.message[:2000], "seen_at": utcnow()}
        for p in {p.provider_key: p for p in batch.problems}.values()
    ]
    for chunk in chunks(rows):
        upsert(conn, PROBLEM, chunk, keys=["stream_id", "provider_key"], update=["message", "seen_at"])
    out.problems += len(rows)


def apply_batch(conn: Connection | Session, stream: StreamRef, batch: Batch) -> Applied:
    """Apply ``batch`` to ``stream`` (inside the caller's transaction; the caller commits)."""
    if isinstance(conn, Session):
        conn = conn.connection()
    out = Applied()
    messages = [r for r in batch.upserts if isinstance(r, MessageRecord)]
    events = [r for r in batch.upserts if isinstance(r, EventRecord)]
    if messages:
        _apply_messages(conn, stream, batch, messages, out)
    if events:
        out.touched |= apply_events(conn, stream.id, events, batch.versions)
        out.touched_events = True
        out.upserts += len(events)
    _apply_flag_updates(conn, stream, batch, out)
    _apply_deletions(conn, stream, batch, out)
    if batch.problems:
        _apply_problems(conn, stream, batch, out)
    if out.touched_events:
        enqueue(conn, (), out.touched)
    enqueue(conn, out.touched_messages, out.dropped)
    if batch.cursor is not None:
        conn.execute(update(STREAM).where(STREAM.c.id == stream.id).values(cursor=batch.cursor))
    return out


def enqueue(conn: Connection, message_ids: Iterable[int], addresses: Iterable[str]) -> None:
    """Hand changed messages and addresses to the analysis, in the caller's transaction.

    Only event changes and dropped participants queue addresses: a message's participants are
    found from its row; an event's old attendees, or the people a re-synced message no longer
    names, would otherwise be lost once the rows are rewritten.
    """
    rows: list[dict[str, Any]] = [{"message_id": m, "address": None} for m in sorted(set(message_ids))]
    rows += [{"message_id": None, "address": a} for a in sorted(set(addresses))]
    for chunk in chunks(rows, 5000):
        upsert(conn, QUEUE, list(chunk), keys=())


__all__ = [
    "Applied",
    "StreamRef",
    "apply_batch",
    "enqueue",
    "identity",
    "message_key",
    "reused_key",
    "sweep_orphans",
]
