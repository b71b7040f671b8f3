"""Contacts as the CLI, the report and the web app read them: with their statistics, by any of
their addresses, and their timeline (the analysis writes them in ``kith.store.analysis_writes``;
the people list with its search and paging is ``kith.store.people``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, RowMapping, select

from kith.store.tables import CONTACT, CONTACT_ADDRESS, INTERACTION, STAT


def contact_rows(conn: Connection, *, automated: bool | None, address: str | None) -> list[RowMapping]:
    """Every column of the contacts (automated or not, or both with None; one ``address``) and
    of their statistics (None before their first evaluation)."""
    q = select(CONTACT, STAT).join(STAT, STAT.c.contact_id == CONTACT.c.id, isouter=True)
    if automated is not None:
        q = q.where(CONTACT.c.automated == automated)
    if address:
        q = q.where(CONTACT.c.address == address)
    return list(conn.execute(q).mappings())


def contact_of(conn: Connection, address: str) -> str | None:
    """The canonical address of the contact that has this (normalised) address, or None."""
    q = (
        select(CONTACT.c.address)
        .join(CONTACT_ADDRESS, CONTACT_ADDRESS.c.contact_id == CONTACT.c.id)
        .where(CONTACT_ADDRESS.c.address == address)
    )
    found: str | None = conn.execute(q).scalar()
    if found is None:
        found = conn.execute(select(CONTACT.c.address).where(CONTACT.c.address == address)).scalar()
    return found


def interactions_of(conn: Connection, address: str) -> list[tuple[datetime, str, bool, bool, str | None, str | None]]:
    """(at, kind, personal, broadcast, subject, message key) of one contact's interactions,
    newest first."""
    cid = conn.execute(select(CONTACT.c.id).where(CONTACT.c.address == address)).scalar()
    i = INTERACTION.c
    q = select(i.at, i.kind, i.personal, i.broadcast, i.subject, i.message_key).where(i.contact_id == cid)
    return [(at, k, bool(p), bool(b), s, mk) for at, k, p, b, s, mk in conn.execute(q.order_by(i.at.desc()))]


__all__ = ["contact_of", "contact_rows", "interactions_of"]
