"""How far a fresh mailbox's first full sync (the backfill, issue 28) has come, for `kith status`.

A stream is still backfilling while it has no cursor (its first full pull has not finished) or
an IMAP cursor that still names the ``full`` pull's target UID (a resumable first pass). What it
holds so far is counted live from its locations; where the cursor tells how far the pull is
(IMAP: ``last_uid`` of ``full``), that share and the rate since the mailbox's first sync give an
ETA. A source that pulls without intermediate cursors (a Maildir) shows the count and rate only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from kith.store.tables import LOCATION, RUN, STREAM


def _backfilling(cursor: Any) -> bool:
    return cursor is None or (isinstance(cursor, dict) and cursor.get("full") is not None)


def backfill_status(conn: Connection, mailbox_id: int, now: datetime) -> dict[str, Any] | None:
    """``{"streams", "stored", "share", "rate_per_s", "eta_seconds", "started_at"}`` while the
    mailbox's first full sync runs (``share`` and ``eta_seconds`` None when unknown), else None."""
    rows = conn.execute(
        select(STREAM.c.id, STREAM.c.cursor).where(STREAM.c.mailbox_id == mailbox_id, STREAM.c.present.is_(True))
    ).all()
    open_ = [(sid, cur) for sid, cur in rows if _backfilling(cur)]
    if not open_ or not _ever_synced(conn, mailbox_id):
        return None
    ids = [sid for sid, _ in open_]
    stored = conn.execute(select(func.count()).select_from(LOCATION).where(LOCATION.c.stream_id.in_(ids))).scalar() or 0
    started = conn.execute(select(func.min(RUN.c.started_at)).where(RUN.c.mailbox_id == mailbox_id)).scalar()
    elapsed = (now - started).total_seconds() if started is not None else None
    known = [(int(c.get("last_uid") or 0), int(c["full"]) - 1) for _, c in open_ if isinstance(c, dict)]
    share = None
    if known and len(known) == len(open_) and sum(t for _, t in known) > 0:
        share = min(1.0, sum(d for d, _ in known) / sum(t for _, t in known))
    eta = None
    if share and elapsed:
        eta = round(elapsed * (1 - share) / share, 1)
    return {
        "streams": len(open_),
        "stored": stored,
        "share": None if share is None else round(share, 3),
        "rate_per_s": round(stored / elapsed, 1) if elapsed else None,
        "eta_seconds": eta,
        "started_at": started,
    }


def _ever_synced(conn: Connection, mailbox_id: int) -> bool:
    """Whether a sync of the mailbox ever started (no run: "never synced", not a backfill)."""
    return conn.execute(select(RUN.c.id).where(RUN.c.mailbox_id == mailbox_id).limit(1)).first() is not None


__all__ = ["backfill_status"]
