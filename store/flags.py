"""The flags as the CLI, the report and the web app read and change them (the analysis writes
them in ``kith.store.analysis_writes``)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, case, insert, null, select, update

from kith.store.tables import CONTACT, FLAG, FLAG_EVENT


def _open(now: datetime) -> Any:
    return (FLAG.c.state == "open") | ((FLAG.c.state == "snoozed") & (FLAG.c.snoozed_until <= now))


def flag_rows(
    conn: Connection,
    *,
    kind: str | None,
    contact: str | None,
    state: str | None,
    now: datetime,
    ids: Collection[int] | None = None,
) -> list[RowMapping]:
    """Every column of the flags of this kind, contact and state (None: any), with their
    contact's ``name`` (``ids``: only these). ``state="open"`` includes the snoozed ones whose
    date has come (``now``): the caller tells them apart."""
    q = select(FLAG, CONTACT.c.name).join(CONTACT, CONTACT.c.address == FLAG.c.contact_address, isouter=True)
    if ids is not None:
        q = q.where(FLAG.c.id.in_(sorted(ids)))
    if kind:
        q = q.where(FLAG.c.kind == kind)
    if contact:
        q = q.where(FLAG.c.contact_address == contact)
    if state == "open":
        q = q.where(_open(now))
    elif state:
        q = q.where(FLAG.c.state == state)
    return list(conn.execute(q).mappings())


def open_flag_heads(conn: Connection, now: datetime, *, evidence_of: str) -> list[RowMapping]:
    """(id, kind, since, contact_address, evidence) of every open flag (as ``flag_rows`` counts
    open), the evidence only for flags of kind ``evidence_of``: enough to count and order them
    (the web's Today) without decoding every flag's evidence (5,000 open flags at 1M messages)."""
    evidence = case((FLAG.c.kind == evidence_of, FLAG.c.evidence), else_=null()).label("evidence")
    q = select(FLAG.c.id, FLAG.c.kind, FLAG.c.since, FLAG.c.contact_address, evidence).where(_open(now))
    return list(conn.execute(q).mappings())


def flag_row(conn: Connection, flag_id: int) -> RowMapping | None:
    """Every column of one flag, or None."""
    return conn.execute(select(FLAG).where(FLAG.c.id == flag_id)).mappings().first()


def flag_events(conn: Connection, flag_id: int) -> list[tuple[datetime, str, str]]:
    """(at, state, reason) of one flag's history, oldest first."""
    q = select(FLAG_EVENT.c.at, FLAG_EVENT.c.state, FLAG_EVENT.c.reason).where(FLAG_EVENT.c.flag_id == flag_id)
    return [(at, st, reason) for at, st, reason in conn.execute(q.order_by(FLAG_EVENT.c.id))]


def set_flag_state(conn: Connection, flag_id: int, values: Mapping[str, Any], reason: str, now: datetime) -> bool:
    """The user's decision on one flag (``values``: its new ``state`` and ``snoozed_until``),
    recorded in its history; False when there is no such flag."""
    if conn.execute(select(FLAG.c.id).where(FLAG.c.id == flag_id)).scalar() is None:
        return False
    conn.execute(update(FLAG).where(FLAG.c.id == flag_id).values(**values))
    conn.execute(insert(FLAG_EVENT).values(flag_id=flag_id, at=now, state=values["state"], reason=reason))
    return True


def open_flags_per_contact(conn: Connection) -> dict[str, int]:
    """Contact address → how many open flags it has (snoozed ones not counted)."""
    out: dict[str, int] = {}
    for (a,) in conn.execute(select(FLAG.c.contact_address).where(FLAG.c.state == "open")):
        out[a] = out.get(a, 0) + 1
    return out


__all__ = ["flag_events", "flag_row", "flag_rows", "open_flag_heads", "open_flags_per_contact", "set_flag_state"]
