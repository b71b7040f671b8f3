"""The analysis' writes: facts, contacts, their addresses, interactions, statistics and flags.

``kith.analysis.persist`` decides what to write (only what differs from what is stored, on the
incremental path); these are its statements. Rows come as tuples or dicts in the column order
each function names; the bulk ones go through ``upsert_tuples``, which converts a column at a
time, in C. ``fresh``: the rebuild emptied the table, so plain inserts (no conflict to look for).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from kith.store.analysis_reads import FACT_COLUMNS, in_chunks
from kith.store.fastread import plain_rows
from kith.store.tables import CONTACT, CONTACT_ADDRESS, FACT, FLAG, FLAG_EVENT, INTERACTION, META, STAT
from kith.store.upsert import chunks, upsert, upsert_tuples

Row = tuple[Any, ...]

#: The ``interactions`` columns ``write_interactions`` takes, in this order.
INTERACTION_COLUMNS = (
    "contact_id",
    "at",
    "kind",
    "personal",
    "broadcast",
    "message_key",
    "event_id",
    "subject",
    "name",
)
#: The ``contact_stats`` columns besides ``contact_id``.
STAT_COLUMNS = (
    "stage",
    "stage_evidence",
    "strength",
    "cadence_days",
    "personal_in",
    "personal_out",
    "broadcast_out",
    "meetings",
    "first_seen",
    "last_interaction",
    "my_reply_median_h",
    "my_reply_p90_h",
    "their_reply_median_h",
    "their_reply_p90_h",
    "reciprocity",
    "next_check",
)
#: What ``stored_flags`` returns of each flag, in this order.
FLAG_COLUMNS = ("id", "kind", "key", "state", "evidence_mark", "snoozed_until", "contact_address")


def write_facts(conn: Connection, rows: Sequence[Row], *, fresh: bool = False) -> None:
    """Upsert facts given as tuples in ``FACT_COLUMNS`` order."""
    for chunk in chunks(rows, 5000):
        if fresh:
            upsert_tuples(conn, FACT, FACT_COLUMNS, chunk, keys=())
        else:
            upsert_tuples(conn, FACT, FACT_COLUMNS, chunk, keys=FACT_COLUMNS[:1], update=FACT_COLUMNS[1:])


def contact_ids(conn: Connection, addresses: Collection[str]) -> dict[str, int]:
    """Canonical address → contact id, for those of ``addresses`` that are stored."""
    out: dict[str, int] = {}
    for clause in in_chunks(conn, CONTACT.c.address, sorted(set(addresses))):
        out.update(plain_rows(conn, select(CONTACT.c.address, CONTACT.c.id).where(clause)))
    return out


def write_contacts(conn: Connection, rows: Sequence[dict[str, Any]], *, fresh: bool = False) -> None:
    """Contacts as {address, name, automated, automated_why, updated_at, search}."""
    for chunk in chunks(rows, 5000):
        upsert(
            conn,
            CONTACT,
            list(chunk),
            keys=() if fresh else ("address",),
            update=["name", "automated", "automated_why", "updated_at", "search"],
        )


def write_contact_addresses(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """{address, contact_id} rows: upserts always (an alias chain can give one spelling to two contacts)."""
    for chunk in chunks(rows, 5000):
        upsert(conn, CONTACT_ADDRESS, list(chunk), keys=["address"], update=["contact_id"])


def write_interactions(conn: Connection, rows: Sequence[Row]) -> None:
    """New interactions, as tuples in ``INTERACTION_COLUMNS`` order."""
    for chunk in chunks(rows, 10000):
        upsert_tuples(conn, INTERACTION, INTERACTION_COLUMNS, chunk, keys=())


def write_stats(conn: Connection, rows: Sequence[dict[str, Any]], *, fresh: bool = False) -> None:
    """{contact_id, *``STAT_COLUMNS``} rows."""
    for chunk in chunks(rows, 5000):
        upsert(conn, STAT, list(chunk), keys=() if fresh else ("contact_id",), update=list(STAT_COLUMNS))


def delete_stats(conn: Connection, contacts: Sequence[int]) -> None:
    for chunk in chunks(contacts):
        conn.execute(delete(STAT).where(STAT.c.contact_id.in_(chunk)))


def delete_interactions(conn: Connection, ids: Sequence[int]) -> None:
    for chunk in chunks(ids):
        conn.execute(delete(INTERACTION).where(INTERACTION.c.id.in_(chunk)))


def delete_contacts(conn: Connection, ids: Sequence[int]) -> None:
    """Contacts with no mail and no meeting left; their timeline, statistics and spellings go
    with them (foreign keys), their flags stay."""
    for chunk in chunks(ids):
        conn.execute(delete(CONTACT).where(CONTACT.c.id.in_(chunk)))


def interactions_by_id(conn: Connection, ids: Sequence[int]) -> Iterator[Row]:
    """(id, *``INTERACTION_COLUMNS``) of these stored interactions."""
    q = select(INTERACTION.c.id, *(INTERACTION.c[c] for c in INTERACTION_COLUMNS))
    for clause in in_chunks(conn, INTERACTION.c.id, ids):
        yield from plain_rows(conn, q.where(clause))


def stored_flags(conn: Connection, scope: Sequence[str] | None, reopenable: Sequence[str] = ()) -> Iterator[Any]:
    """``FLAG_COLUMNS`` of the flags of the contacts in ``scope``; with None, every flag but the
    resolved ones, and the resolved ones of ``reopenable`` (contacts with findings)."""
    q = select(*(FLAG.c[c] for c in FLAG_COLUMNS))
    if scope is None:
        clauses: list[Any] = [FLAG.c.state != "resolved"]
        clauses += [FLAG.c.contact_address.in_(c) & (FLAG.c.state == "resolved") for c in chunks(reopenable)]
    else:
        clauses = [FLAG.c.contact_address.in_(c) for c in chunks(scope)]
    for clause in clauses:
        yield from conn.execute(q.where(clause))


def update_flag(conn: Connection, flag_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(FLAG).where(FLAG.c.id == flag_id).values(**values))


def insert_flags(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    for chunk in chunks(rows, 2000):
        conn.execute(insert(FLAG), list(chunk))


def flag_ids(conn: Connection, keys: Sequence[str]) -> dict[str, int]:
    """Flag key → id, for these keys."""
    ids: dict[str, int] = {}
    for chunk in chunks(keys):
        ids.update({a: b for a, b in conn.execute(select(FLAG.c.key, FLAG.c.id).where(FLAG.c.key.in_(chunk)))})
    return ids


def insert_flag_events(conn: Connection, rows: Iterable[dict[str, Any]]) -> None:
    for chunk in chunks(list(rows), 5000):
        conn.execute(insert(FLAG_EVENT), list(chunk))


def meta_value(conn: Connection, key: str) -> Any:
    """The ``kith_meta`` value under ``key`` (JSON), or None."""
    return conn.execute(select(META.c.value).where(META.c.key == key)).scalar()


def set_meta_value(conn: Connection, key: str, value: Any) -> None:
    upsert(conn, META, [{"key": key, "value": value}], keys=["key"], update=["value"])


__all__ = [
    "FLAG_COLUMNS",
    "INTERACTION_COLUMNS",
    "STAT_COLUMNS",
    "contact_ids",
    "delete_contacts",
    "delete_interactions",
    "delete_stats",
    "flag_ids",
    "insert_flag_events",
    "insert_flags",
    "interactions_by_id",
    "meta_value",
    "set_meta_value",
    "stored_flags",
    "update_flag",
    "write_contact_addresses",
    "write_contacts",
    "write_facts",
    "write_interactions",
    "write_stats",
]
