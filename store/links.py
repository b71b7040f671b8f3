"""What the "open in mail" links need to know about a few messages, and a person's last message.

Read-only queries for ``kith.report.actions``: for each message key, where its copies live
(mailbox name and kind, folders, labels, provider key, thread, Graph's ``webLink``), and for a
contact, the key of their latest email interaction (a person-level flag links to that thread).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, func, select

from kith.store.tables import CONTACT, INTERACTION, LOCATION, MAILBOX, MESSAGE, STREAM
from kith.store.upsert import chunks


@dataclass
class Copy:
    """One message as one mailbox holds it (its folders gathered)."""

    key: str
    mailbox: str
    kind: str
    subject: str | None = None
    thread_id: str | None = None
    web_link: str | None = None
    provider_key: str | None = None
    streams: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)


def copies(conn: Connection, keys: Iterable[str]) -> dict[str, list[Copy]]:
    """message key -> its copies, one per mailbox, in mailbox order: the message rows first,
    then the folders that hold them (two small reads rather than one row per folder copy)."""
    out: dict[str, list[Copy]] = {}
    by_row: dict[int, Copy] = {}
    for chunk in chunks(sorted({k for k in keys if k})):
        q = (
            select(
                MESSAGE.c.id,
                MESSAGE.c.message_key,
                MAILBOX.c.name,
                MAILBOX.c.kind,
                MESSAGE.c.subject,
                MESSAGE.c.thread_id,
                MESSAGE.c.web_link,
            )
            .join(MAILBOX, MAILBOX.c.id == MESSAGE.c.mailbox_id)
            .where(MESSAGE.c.message_key.in_(chunk))
            .order_by(MAILBOX.c.id)
        )
        for row_id, key, mailbox, kind, subject, thread, link in conn.execute(q):
            by_row[row_id] = Copy(key, mailbox, kind, subject, thread, link)
            out.setdefault(key, []).append(by_row[row_id])
    for chunk in chunks(sorted(by_row)):
        held = (
            select(LOCATION.c.message_id, STREAM.c.name, LOCATION.c.labels, LOCATION.c.provider_key)
            .join(STREAM, STREAM.c.id == LOCATION.c.stream_id)
            .where(LOCATION.c.message_id.in_(chunk))
            .order_by(LOCATION.c.id)
        )
        for row_id, stream, labels, provider_key in conn.execute(held):
            c = by_row[row_id]
            c.streams.append(stream)
            c.labels.extend((labels or "").split())
            c.provider_key = c.provider_key or provider_key
    return out


def last_messages(conn: Connection, addresses: Iterable[str]) -> dict[str, str]:
    """contact address -> the message key of their latest email interaction (in or out)."""
    out: dict[str, str] = {}
    for chunk in chunks(sorted(set(addresses))):
        # only these contacts' interactions (ix_interactions_contact_key): grouping the whole
        # table took ~100 ms at 100k messages for every Today page and report
        wanted = select(CONTACT.c.id).where(CONTACT.c.address.in_(chunk))
        latest = (
            select(INTERACTION.c.contact_id, func.max(INTERACTION.c.at).label("at"))
            .where(INTERACTION.c.message_key.is_not(None), INTERACTION.c.contact_id.in_(wanted))
            .group_by(INTERACTION.c.contact_id)
            .subquery()
        )
        rows = conn.execute(
            select(CONTACT.c.address, INTERACTION.c.message_key)
            .join(INTERACTION, INTERACTION.c.contact_id == CONTACT.c.id)
            .join(latest, (latest.c.contact_id == INTERACTION.c.contact_id) & (latest.c.at == INTERACTION.c.at))
            .where(CONTACT.c.address.in_(chunk), INTERACTION.c.message_key.is_not(None))
            .order_by(INTERACTION.c.id)
        )
        for address, key in rows:
            out[address] = key
    return out


__all__ = ["Copy", "copies", "last_messages"]
