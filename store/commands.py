"""The tables and SQL of reply-to-act: the tokens already used, and what each command did.

- ``action_tokens``: one row per token that acted (only its SHA-256, never the token), with the
  message that carried it. Its primary key is the replay guard: a second use of a token finds
  the row. The same message seen again (in Sent and in INBOX, or re-synced from scratch) is a
  *duplicate* and passes silently; another message with a used token is a *replay*.
- ``action_log``: every command kith looked at and what came of it (applied, forged, expired,
  foreign, replayed, unknown flag; flag closed: a genuine link to a flag settled since, a no-op), for ``kith status`` and the web app. It holds no token and
  no subject: the sender's address, the flag id and the action are enough to tell what happened.
  Anybody who reaches the web app's ``/act/`` (or mails me) can add a row with a made-up link,
  so the table is bounded on every insert: rows older than ``LOG_DAYS`` go, and so do all but
  the newest ``LOG_ROWS`` (by id: one range on the primary key, however large the flood).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select

from kith.store.tables import ACTION_LOG, FLAG, TOKEN

#: Outcomes that are not the owner's own doing: each leaves a line in `kith status`.
REFUSED = ("forged", "expired", "foreign", "replayed", "unknown flag")
#: How long a logged command is kept, and the most rows kept (a flood of forged links).
LOG_DAYS = 90
LOG_ROWS = 10_000

#: How far back `kith status` and the web's Sync health look for refused commands.
REFUSED_WINDOW = timedelta(days=30)


def used_by(conn: Connection, digest: str) -> str | None:
    """The carrier that already used this token, or None when it is fresh."""
    return conn.execute(select(TOKEN.c.carrier).where(TOKEN.c.digest == digest)).scalar()


def mark_used(conn: Connection, digest: str, flag_id: int, action: str, carrier: str, now: datetime) -> None:
    conn.execute(
        insert(TOKEN).values(digest=digest, flag_id=flag_id, action=action, carrier=carrier[:1000], used_at=now)
    )


def flag_identities(conn: Connection, flag_ids: Iterable[int]) -> dict[int, str]:
    """flag id -> its stable key: what a token is signed over besides the number."""
    ids = sorted(set(flag_ids))
    if not ids:
        return {}
    return {int(i): str(k) for i, k in conn.execute(select(FLAG.c.id, FLAG.c.key).where(FLAG.c.id.in_(ids)))}


def log_command(
    conn: Connection,
    *,
    at: datetime,
    via: str,
    outcome: str,
    flag_id: int | None = None,
    action: str | None = None,
    sender: str | None = None,
    carrier: str | None = None,
    digest: str | None = None,
) -> None:
    added = conn.execute(
        insert(ACTION_LOG).values(
            at=at,
            via=via[:200],
            outcome=outcome,
            flag_id=flag_id,
            action=action,
            sender=(sender or "")[:200] or None,
            carrier=carrier[:1000] if carrier else None,
            digest=digest,
        )
    )
    newest = int(added.inserted_primary_key[0])  # type: ignore[index]
    old = (ACTION_LOG.c.id <= newest - LOG_ROWS) | (ACTION_LOG.c.at < at - timedelta(days=LOG_DAYS))
    conn.execute(delete(ACTION_LOG).where(old))


def logged(conn: Connection, carrier: str, digest: str) -> bool:
    """Whether this message with this token was looked at before (whatever came of it)."""
    q = select(ACTION_LOG.c.id).where(ACTION_LOG.c.carrier == carrier[:1000], ACTION_LOG.c.digest == digest).limit(1)
    return conn.execute(q).first() is not None


def refused_commands(conn: Connection, *, since: datetime, limit: int = 20) -> dict[str, Any]:
    """What `kith status` shows: refused commands since ``since`` (count and the latest few)."""
    where = (ACTION_LOG.c.outcome.in_(REFUSED)) & (ACTION_LOG.c.at >= since)
    total = conn.execute(select(func.count()).select_from(ACTION_LOG).where(where)).scalar() or 0
    rows = conn.execute(
        select(
            ACTION_LOG.c.at,
            ACTION_LOG.c.via,
            ACTION_LOG.c.outcome,
            ACTION_LOG.c.flag_id,
            ACTION_LOG.c.action,
            ACTION_LOG.c.sender,
        )
        .where(where)
        .order_by(ACTION_LOG.c.id.desc())
        .limit(limit)
    )
    return {
        "total": int(total),
        "latest": [
            {"at": at.isoformat(), "via": via, "outcome": o, "flag_id": f, "action": a, "sender": s}
            for at, via, o, f, a, s in rows
        ],
    }


__all__ = [
    "REFUSED",
    "REFUSED_WINDOW",
    "flag_identities",
    "log_command",
    "logged",
    "mark_used",
    "refused_commands",
    "used_by",
]
