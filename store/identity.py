"""Which stored message a record is: the Message-ID together with its From and Date.

DESIGN ("A message"): a message is one Message-ID with the same identifying headers (From,
Date); a Message-ID seen again with different ones is another message, recorded as a reused id,
so a stranger cannot overwrite or hide a real message by copying its id. Only true copies (the
same id, From and Date: the INBOX and the All Mail copy, my Sent copy and the one I Cc'd myself,
the copies in two of my mailboxes) share a row, and with it one fact in the analysis.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime

from sqlalchemy import Connection, select

from kith.connectors.base import MessageRecord
from kith.store.tables import LOCATION, MESSAGE
from kith.store.upsert import chunks, key_map


def message_key(rec: MessageRecord) -> str:
    """Normalised Message-ID, else a stable digest of the headers that identify a message."""
    if rec.message_id:
        return rec.message_id
    parts = [
        rec.from_.address if rec.from_ else "",
        rec.date.isoformat() if rec.date else "",
        rec.subject or "",
        ",".join(a.address for a in rec.to),
        ",".join(a.address for a in rec.cc),
        rec.in_reply_to or "",
    ]
    if not any(parts):  # nothing identifies it: the copy itself is the identity
        parts.append(rec.provider_key)
    return "hash:" + hashlib.sha1("\x1f".join(parts).encode("utf-8", "replace")).hexdigest()


Identity = tuple[str, datetime | None]


def identity(rec: MessageRecord) -> Identity:
    """What makes two records with one Message-ID the same message: the From address and Date."""
    return (rec.from_.address if rec.from_ else "", rec.date)


def reused_key(key: str, ident: Identity) -> str:
    """The key of a message whose Message-ID ``key`` a different message holds already."""
    addr, date = ident
    digest = hashlib.sha1(f"{addr}\x1f{date.isoformat() if date else ''}".encode("utf-8", "replace")).hexdigest()
    return f"{key[:960]}~{digest[:20]}"


def resolve_keys(
    conn: Connection, stream_id: int, mailbox_id: int, recs: list[MessageRecord]
) -> list[tuple[str, MessageRecord]]:
    """(key, record) for each record: ``message_key``, or ``reused_key`` (the record then names
    the reuse in its problems) when the Message-ID belongs to a different stored message.

    The owner of an id is the first message stored with it, in any mailbox (the lowest row id),
    or, for an id new to the store, the first record with it in this batch. A record whose
    location already holds the id's row in this mailbox is that message synced again (kept under
    the plain key even if a newer parser reads its Date differently).
    """
    base = [message_key(r) for r in recs]
    ids = sorted({k for k, r in zip(base, recs, strict=True) if r.message_id and k == r.message_id})
    owner: dict[str, Identity] = {}
    here: dict[str, int] = {}
    for chunk in chunks(ids):
        q = (
            select(MESSAGE.c.message_key, MESSAGE.c.mailbox_id, MESSAGE.c.id, MESSAGE.c.from_addr, MESSAGE.c.date)
            .where(MESSAGE.c.message_key.in_(chunk))
            .order_by(MESSAGE.c.id)
        )
        for key, row_mailbox, row_id, from_addr, date in conn.execute(q):
            owner.setdefault(key, (from_addr or "", date))
            if row_mailbox == mailbox_id:
                here[key] = row_id
    located = (
        key_map(conn, LOCATION, "provider_key", "message_id", ("stream_id", stream_id), [r.provider_key for r in recs])
        if owner
        else {}
    )
    out: list[tuple[str, MessageRecord]] = []
    for key, rec in zip(base, recs, strict=True):
        if not rec.message_id or key != rec.message_id:
            out.append((key, rec))
            continue
        mine = identity(rec)
        first = owner.setdefault(key, mine)
        if first == mine or (key in here and located.get(rec.provider_key) == here[key]):
            out.append((key, rec))
            continue
        note = f"Message-ID {key[:200]} reused: another message (other From or Date) has it; stored as a message of its own"
        problems = rec.problems if note in rec.problems else (*rec.problems, note)
        out.append((reused_key(key, mine), replace(rec, problems=problems)))
    return out


__all__ = ["Identity", "identity", "message_key", "resolve_keys", "reused_key"]
