"""The analysis' reads: the rows its loaders turn into records (``kith.analysis.load``, ``copies``).

Every read takes an optional filter (message keys, addresses, ids); without one it reads all,
which is the rebuild. Rows come back as plain driver tuples through ``fastread.plain_rows`` (the
measured fast path), in the column order each function names, so the analysis builds its records
positionally without SQLAlchemy's per-row machinery. A filtered read runs one statement per
chunk of the filter; the chunks' rows come back as one iterator (``chain``, in C: no cost a row).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import chain
from typing import Any

from sqlalchemy import Connection, Select, exists, false, func, select, true

from kith.store.fastread import list_parameters, plain_rows
from kith.store.tables import ATTENDEE, EVENT, FACT, FLAG, INTERACTION, LOCATION, MESSAGE, PARTICIPANT, STREAM
from kith.store.upsert import CHUNK, chunks

Row = tuple[Any, ...]

#: The list and automation headers of a message, in the order ``Copy`` holds them.
HEADER_COLUMNS = ("list_id", "list_unsubscribe", "list_post", "precedence", "auto_submitted", "return_path")
#: The ``mail_facts`` columns, in the order of ``Fact``'s fields (``message_key`` is ``key``).
FACT_COLUMNS = (
    "message_key",
    "message_id",
    "time",
    "sender",
    "subject",
    "subject_norm",
    "outbound",
    "automated",
    "automated_why",
    "recipients",
    "answered",
    "counted",
    "future",
    "to_me",
    "cc_me",
    "thread_key",
    "broadcast",
)
#: What ``history_rows`` reads of a fact: what a contact's mail needs.
MAIL_FIELDS = tuple(f for f in FACT_COLUMNS if f not in ("message_key", "sender", "subject_norm", "outbound"))

#: Values per ``IN`` list where ``plain_rows`` passes a list as one parameter: a chunk of
#: SQLite's bound-variable size made an incremental run at 1M messages 64 queries for one read.
LIST_CHUNK = 10_000


def in_chunks(conn: Connection, column: Any, values: Sequence[Any]) -> Iterator[Any]:
    """``column IN (...)`` clauses for ``values``, a bounded number at a time (for ``plain_rows``)."""
    for chunk in chunks(list(values), LIST_CHUNK if list_parameters(conn) else CHUNK):
        yield column.in_(chunk)


def _in(conn: Connection, column: Any, values: Sequence[Any] | None) -> Iterator[Any]:
    """``in_chunks``, or one ``None`` clause (no filter) when ``values`` is None."""
    if values is None:
        yield None
        return
    yield from in_chunks(conn, column, values)


def _rows(conn: Connection, q: Select[Any], column: Any, values: Sequence[Any] | None, **how: bool) -> Iterator[Row]:
    """The rows of ``q`` where ``column`` is one of ``values`` (every row when None), a chunk of
    values a statement."""
    return chain.from_iterable(
        plain_rows(conn, q if clause is None else q.where(clause), **how) for clause in _in(conn, column, values)
    )


# -- messages and participants ----------------------------------------------------------------


def recipient_rows(conn: Connection, me_raw: Sequence[str], keys: Sequence[str] | None) -> Iterator[Row]:
    """(message key, address) of every To/Cc/Bcc recipient of the messages sent from one of
    ``me_raw`` (of ``keys``, or all)."""
    base = (
        select(MESSAGE.c.message_key, PARTICIPANT.c.address)
        .join(MESSAGE, MESSAGE.c.id == PARTICIPANT.c.message_id)
        .where(PARTICIPANT.c.role.in_(("to", "cc", "bcc")), MESSAGE.c.from_addr.in_(me_raw))
    )
    return _rows(conn, base, MESSAGE.c.message_key, keys, stream=True)


def participant_rows(conn: Connection) -> Iterator[tuple[str, str, str, str | None]]:
    """(message key, role, address, display name) of every live message, in (message, role,
    position) order: the order decides a message's name for a contact (``group_contacts``)."""
    q = (
        select(MESSAGE.c.message_key, PARTICIPANT.c.role, PARTICIPANT.c.address, PARTICIPANT.c.name)
        .join(MESSAGE, MESSAGE.c.id == PARTICIPANT.c.message_id)
        .where(MESSAGE.c.deleted_at.is_(None), PARTICIPANT.c.role.in_(("from", "to", "cc", "bcc")))
        .order_by(PARTICIPANT.c.message_id, PARTICIPANT.c.role, PARTICIPANT.c.position)
    )
    yield from plain_rows(conn, q, stream=True)


def participants_of(conn: Connection, keys: Sequence[str]) -> list[tuple[str, str, str]]:
    """(message key, role, address) of every participant of these messages (any copy, deleted or not)."""
    found: list[tuple[str, str, str]] = []
    q = select(MESSAGE.c.message_key, PARTICIPANT.c.role, PARTICIPANT.c.address).join(
        MESSAGE, MESSAGE.c.id == PARTICIPANT.c.message_id
    )
    for clause in _in(conn, MESSAGE.c.message_key, keys):
        found += plain_rows(conn, q.where(clause))
    return found


# -- the copies of a message ------------------------------------------------------------------


def _copy_columns(me_raw: list[str]) -> list[Any]:
    def addressed(role: str) -> Any:
        if not me_raw:
            return false()
        return exists().where(
            PARTICIPANT.c.message_id == MESSAGE.c.id, PARTICIPANT.c.role == role, PARTICIPANT.c.address.in_(me_raw)
        )

    return [
        MESSAGE.c.id,
        MESSAGE.c.mailbox_id,
        MESSAGE.c.message_key,
        MESSAGE.c.message_id,
        MESSAGE.c.thread_id,
        MESSAGE.c.in_reply_to,
        MESSAGE.c.references,
        MESSAGE.c.subject,
        MESSAGE.c.date,
        MESSAGE.c.received,
        MESSAGE.c.from_addr,
        *(MESSAGE.c[h] for h in HEADER_COLUMNS),
        MESSAGE.c.recipient_count,
        MESSAGE.c.deleted_at,
        addressed("to"),
        addressed("cc"),
        LOCATION.c.id,
        LOCATION.c.flags,
        LOCATION.c.labels,
        STREAM.c.role,
    ]


def _copies_select(me_raw: list[str]) -> Select[Any]:
    return select(*_copy_columns(me_raw)).select_from(
        MESSAGE.outerjoin(LOCATION, LOCATION.c.message_id == MESSAGE.c.id).outerjoin(
            STREAM, STREAM.c.id == LOCATION.c.stream_id
        )
    )


def multi_copy_keys(conn: Connection) -> set[str]:
    """The message keys stored more than once (the same Message-ID in two of my mailboxes)."""
    counted = select(MESSAGE.c.message_key).group_by(MESSAGE.c.message_key).having(func.count() > 1)
    return {k for (k,) in plain_rows(conn, counted)}


def copy_rows(conn: Connection, me_raw: list[str], *, lo: int | None = None, hi: int | None = None) -> Iterator[Row]:
    """Every message row with ``lo <= id < hi`` (None: no bound), in table order, one row per
    location (or one without): id, mailbox id, key, Message-ID, thread id, In-Reply-To,
    References (JSON), subject, date, received, from, ``HEADER_COLUMNS``, recipient count,
    deleted at, whether one of ``me_raw`` is in To, in Cc, location id, flags, labels, folder role.

    Table order is a sequential scan; in key order every row is a random read once the table
    outgrows the page cache (measured 2.5x slower at 300k messages)."""
    q = _copies_select(me_raw).order_by(MESSAGE.c.id, LOCATION.c.id)
    if lo is not None:
        q = q.where(MESSAGE.c.id >= lo)
    if hi is not None:
        q = q.where(MESSAGE.c.id < hi)
    return plain_rows(conn, q, stream=True)


def copy_rows_of(conn: Connection, me_raw: list[str], keys: Sequence[str]) -> Iterator[Row]:
    """``copy_rows`` of these message keys, in key order (then row, then location)."""
    base = _copies_select(me_raw)
    return chain.from_iterable(
        plain_rows(conn, base.where(clause).order_by(MESSAGE.c.message_key, MESSAGE.c.id, LOCATION.c.id), stream=True)
        for clause in in_chunks(conn, MESSAGE.c.message_key, keys)
    )


# -- stored facts -----------------------------------------------------------------------------


def fact_rows(conn: Connection, keys: Sequence[str]) -> Iterator[Row]:
    """The stored facts of these messages, in ``FACT_COLUMNS`` order."""
    cols = [FACT.c[n] for n in FACT_COLUMNS]
    return _rows(conn, select(*cols), FACT.c.message_key, keys)


def contact_fact_rows(conn: Connection, keys: Sequence[str]) -> Iterator[Row]:
    """(role, address, display name, *``FACT_COLUMNS``) of the participants of these live,
    counted messages that make contacts: the sender of inbound mail, the recipients of mine; in
    ``participant_rows`` order within each chunk of keys."""
    cols = [PARTICIPANT.c.role, PARTICIPANT.c.address, PARTICIPANT.c.name, *(FACT.c[n] for n in FACT_COLUMNS)]
    p = PARTICIPANT.c
    base = (
        select(*cols)
        .join(MESSAGE, MESSAGE.c.id == p.message_id)
        .join(FACT, FACT.c.message_key == MESSAGE.c.message_key)
        .where(
            MESSAGE.c.deleted_at.is_(None),
            FACT.c.counted,
            ((p.role == "from") & ~FACT.c.outbound) | (p.role.in_(("to", "cc", "bcc")) & FACT.c.outbound),
        )
    )
    return chain.from_iterable(
        plain_rows(conn, base.where(clause).order_by(p.message_id, p.role, p.position))
        for clause in _in(conn, MESSAGE.c.message_key, keys)
    )


def history_rows(conn: Connection, contact_ids: Sequence[int]) -> Iterator[Row]:
    """(interaction id, contact id, kind, name, message key, *``MAIL_FIELDS`` of its fact) of
    every stored interaction of these contacts (NULLs for a meeting's fact), read ahead."""
    cols = [INTERACTION.c.id, INTERACTION.c.contact_id, INTERACTION.c.kind, INTERACTION.c.name]
    base = _with_facts(conn, [*cols, INTERACTION.c.message_key])
    return chain.from_iterable(
        plain_rows(conn, base.where(clause), ahead=True)
        for clause in in_chunks(conn, INTERACTION.c.contact_id, contact_ids)
    )


def _with_facts(conn: Connection, cols: list[Any]) -> Select[Any]:
    """``cols`` of the interactions with the ``MAIL_FIELDS`` of each one's fact (NULLs for a meeting).

    A plain outer join on SQLite, which looks each fact up by its key. PostgreSQL would rather
    hash the whole fact table for it (its default costs take each key lookup for a random read
    from disk; measured at 1M messages: 0.5 s a query of 50k rows, spilling to disk); a lateral
    subquery kept apart by its ``OFFSET 0`` makes it look them up instead: 0.12 s.
    """
    if conn.dialect.name != "postgresql":
        on = FACT.c.message_key == INTERACTION.c.message_key
        return select(*cols, *(FACT.c[n] for n in MAIL_FIELDS)).join(FACT, on, isouter=True)
    fact = (
        select(*(FACT.c[n] for n in MAIL_FIELDS))
        .where(FACT.c.message_key == INTERACTION.c.message_key)
        .offset(0)
        .lateral("fact")
    )
    return select(*cols, *(fact.c[n] for n in MAIL_FIELDS)).select_from(INTERACTION.outerjoin(fact, true()))


def my_thread_times(conn: Connection, threads: Sequence[str]) -> Iterator[Row]:
    """(thread key, time) of my own non-automated, counted mail in these threads."""
    q = select(FACT.c.thread_key, FACT.c.time).where(FACT.c.outbound, ~FACT.c.automated, FACT.c.counted)
    return _rows(conn, q, FACT.c.thread_key, threads)


def my_subject_times(conn: Connection, subjects: Sequence[str]) -> Iterator[Row]:
    """(message key, subject, time) of my mail with these (normalised) subjects."""
    q = select(FACT.c.message_key, FACT.c.subject_norm, FACT.c.time).where(FACT.c.outbound)
    return _rows(conn, q, FACT.c.subject_norm, subjects)


def stored_flag_keys(conn: Connection, contacts: Sequence[str] | None = None) -> set[str]:
    """Keys of the stored flags (of these contacts, or everyone's): a resolved finding can only
    lend its reason to one of them (``lifecycle.transitions``), so the rules make just those.
    All states, not only open and snoozed: a user may snooze a flag while a rebuild runs, but
    only the analysis makes keys."""
    return {k for (k,) in _rows(conn, select(FLAG.c.key), FLAG.c.contact_address, contacts)}


# -- calendars --------------------------------------------------------------------------------


def events_of(conn: Connection, raw_addresses: Sequence[str]) -> set[int]:
    """Ids of the events these addresses attend or organise."""
    ids = {i for (i,) in _rows(conn, select(ATTENDEE.c.event_id), ATTENDEE.c.address, raw_addresses)}
    ids.update(i for (i,) in _rows(conn, select(EVENT.c.id), EVENT.c.organizer_addr, raw_addresses))
    return ids


def attendee_rows(conn: Connection, event_ids: Sequence[int] | None) -> Iterator[Row]:
    """(event id, address, partstat) of every attendee of these events (of all, when None)."""
    q = select(ATTENDEE.c.event_id, ATTENDEE.c.address, ATTENDEE.c.partstat)
    return _rows(conn, q, ATTENDEE.c.event_id, event_ids)


def event_rows(conn: Connection, event_ids: Sequence[int] | None) -> Iterator[Row]:
    """(id, uid, recurrence id, start, summary, organizer, status, my response, cancelled) of
    these events (of all, when None)."""
    e = EVENT.c
    q = select(e.id, e.uid, e.recurrence_id, e.start, e.summary, e.organizer_addr, e.status, e.my_response, e.cancelled)
    return _rows(conn, q, EVENT.c.id, event_ids)


__all__ = [
    "FACT_COLUMNS",
    "HEADER_COLUMNS",
    "LIST_CHUNK",
    "MAIL_FIELDS",
    "attendee_rows",
    "contact_fact_rows",
    "copy_rows",
    "copy_rows_of",
    "event_rows",
    "events_of",
    "fact_rows",
    "history_rows",
    "in_chunks",
    "multi_copy_keys",
    "my_subject_times",
    "my_thread_times",
    "participant_rows",
    "participants_of",
    "recipient_rows",
    "stored_flag_keys",
]
