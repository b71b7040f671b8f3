"""What the "open in mail" links need to know about a few messages, and a person's last message.

Read-only queries for ``kith.report.actions``: for each message key, where its copies live
(mailbox name and kind, folders, labels, provider key, thread, Graph's ``webLink``), and for a
contact, the key of their latest email interaction (a person-level flag links to that thread).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, func, select

from kith.store.derived import Contact, Interaction
from kith.store.models import MailboxRow, MessageLocation, MessageRow, StreamRow
from kith.store.upsert import chunks

MSG = MessageRow.__table__
LOC = MessageLocation.__table__
ST = StreamRow.__table__
MB = MailboxRow.__table__
INTER = Interaction.__table__
CONTACT = Contact.__table__


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
            select(MSG.c.id, MSG.c.message_key, MB.c.name, MB.c.kind, MSG.c.subject, MSG.c.thread_id, MSG.c.web_link)
            .join(MB, MB.c.id == MSG.c.mailbox_id)
            .where(MSG.c.message_key.in_(chunk))
            .order_by(MB.c.id)
        )
        for row_id, key, mailbox, kind, subject, thread, link in conn.execute(q):
            by_row[row_id] = Copy(key, mailbox, kind, subject, thread, link)
            out.setdefault(key, []).append(by_row[row_id])
    for chunk in chunks(sorted(by_row)):
        held = (
            select(LOC.c.message_id, ST.c.name, LOC.c.labels, LOC.c.provider_key)
            .join(ST, ST.c.id == LOC.c.stream_id)
            .where(LOC.c.message_id.in_(chunk))
            .order_by(LOC.c.id)
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
        latest = (
            select(INTER.c.contact_id, func.max(INTER.c.at).label("at"))
            .where(INTER.c.message_key.is_not(None))
            .group_by(INTER.c.contact_id)
            .subquery()
        )
        rows = conn.execute(
            select(CONTACT.c.address, INTER.c.message_key)
            .join(INTER, INTER.c.contact_id == CONTACT.c.id)
            .join(latest, (latest.c.contact_id == INTER.c.contact_id) & (latest.c.at == INTER.c.at))
            .where(CONTACT.c.address.in_(chunk), INTER.c.message_key.is_not(None))
            .order_by(INTER.c.id)
        )
        for address, key in rows:
            out[address] = key
    return out


__all__ = ["Copy", "copies", "last_messages"]
