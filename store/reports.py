"""The ``reports`` table as the truth for "one report per (date, recipient)".

A report goes out in three steps, each its own short transaction:

1. **claim** — ``INSERT … ON CONFLICT DO NOTHING`` makes sure the (date, recipient) row exists,
   then one conditional ``UPDATE`` moves it from pending/failed (backoff elapsed) to ``sending``
   with a lease (``next_attempt_at`` = now + lease) and fixes its Message-ID. Exactly one worker
   sees ``rowcount == 1``; on PostgreSQL the second UPDATE waits for the first to commit and then
   finds the row no longer matching, on SQLite the write lock serialises them.
2. **send** — outside any transaction (SMTP can take seconds; no row lock is held meanwhile).
3. **mark** — ``sent`` (with the time), or ``failed`` with the error and the next attempt time
   (exponential backoff, capped by ``[daemon] max_backoff``).

The remaining window: the server accepted the message and the process died before step 3. The
row stays ``sending`` until its lease expires. We choose **at-least-once**: an expired lease is
claimed again and the report re-sent, because a missing morning report is worse than a second
copy, and the second copy is usually no copy at all — the retry re-uses the Message-ID stored in
step 1, so IMAP delivery finds the first copy and appends nothing, and Gmail discards a message
whose Message-ID it already holds. Over plain SMTP to other providers a duplicate is possible in
that window only (crash between the server's 250 and our commit, milliseconds).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from kith.store.tables import REPORT

#: How long a claim holds before another worker may take over a send that never finished.
LEASE = timedelta(minutes=10)
FIRST_RETRY = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Claim:
    """This worker owns the send of one (date, recipient) until ``lease_until``."""

    id: int
    message_id: str
    attempts: int
    lease_until: datetime


def backoff(attempts: int, cap: timedelta) -> timedelta:
    """5 min, 10, 20, … up to ``cap``: quick recovery from a blip, no hammering of a dead server."""
    return min(FIRST_RETRY * (2 ** max(0, attempts - 1)), cap)


def _ensure_row(session: Session, day: date, recipient: str, now: datetime) -> None:
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(REPORT).values(
        report_date=day.isoformat(), recipient=recipient, status="pending", attempts=0, created_at=now
    )
    session.execute(stmt.on_conflict_do_nothing(index_elements=["report_date", "recipient"]))


def claim(
    session: Session,
    *,
    day: date,
    recipient: str,
    now: datetime,
    message_id: str,
    payload: Any,
    force: bool = False,
    respect_backoff: bool = True,
    lease: timedelta = LEASE,
) -> Claim | None:
    """Take the (date, recipient) row for sending, or None when it is sent, being sent, or backing off.

    ``force`` takes a sent row too, with a new Message-ID (a deliberate second message); it
    never takes a row another worker is sending right now.
    """
    _ensure_row(session, day, recipient, now)
    key = and_(REPORT.c.report_date == day.isoformat(), REPORT.c.recipient == recipient)
    stale = and_(REPORT.c.status == "sending", REPORT.c.next_attempt_at <= now)
    if force:
        claimable = or_(REPORT.c.status != "sending", stale)
        new_id: Any = message_id
    else:
        due = or_(REPORT.c.next_attempt_at.is_(None), REPORT.c.next_attempt_at <= now)
        waiting = REPORT.c.status.in_(("pending", "failed"))
        claimable = or_(and_(waiting, due) if respect_backoff else waiting, stale)
        # a retry keeps the first Message-ID: that is what makes a re-send recognisable
        new_id = func.coalesce(REPORT.c.message_id, message_id)
    result = session.execute(
        update(REPORT)
        .where(key, claimable)
        .values(
            status="sending",
            attempts=REPORT.c.attempts + 1,
            next_attempt_at=now + lease,
            message_id=new_id,
            payload=payload,
            **({"sent_at": None} if force else {}),
        )
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    row = session.execute(select(REPORT.c.id, REPORT.c.message_id, REPORT.c.attempts).where(key)).one()
    return Claim(id=row.id, message_id=row.message_id, attempts=row.attempts, lease_until=now + lease)


def mark_sent(session: Session, claim: Claim, *, now: datetime) -> bool:
    """Record success; False when the lease was lost meanwhile (another worker took over)."""
    result = session.execute(
        update(REPORT)
        .where(REPORT.c.id == claim.id, REPORT.c.status == "sending", REPORT.c.message_id == claim.message_id)
        .values(status="sent", sent_at=now, next_attempt_at=None, error=None)
    )
    return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]


def mark_failed(session: Session, claim: Claim, *, now: datetime, error: str, cap: timedelta) -> datetime:
    """Record the failure and when to try again; returns that time."""
    retry_at = now + backoff(claim.attempts, cap)
    session.execute(
        update(REPORT)
        .where(REPORT.c.id == claim.id, REPORT.c.status == "sending", REPORT.c.message_id == claim.message_id)
        .values(status="failed", error=error[:2000], next_attempt_at=retry_at)
    )
    return retry_at


def row_for(session: Session, *, day: date, recipient: str) -> dict[str, Any] | None:
    row = session.execute(
        select(REPORT).where(REPORT.c.report_date == day.isoformat(), REPORT.c.recipient == recipient)
    ).first()
    return None if row is None else dict(row._mapping)


def previous_payload(session: Session, *, day: date) -> tuple[str, Any] | None:
    """The payload of the newest report sent before ``day``: the baseline for stage changes."""
    row = session.execute(
        select(REPORT.c.report_date, REPORT.c.payload)
        .where(REPORT.c.report_date < day.isoformat(), REPORT.c.status == "sent", REPORT.c.payload.is_not(None))
        .order_by(REPORT.c.report_date.desc(), REPORT.c.id.desc())
        .limit(1)
    ).first()
    return None if row is None else (row.report_date, row.payload)


def report_status(session: Session, *, limit: int = 7) -> list[dict[str, Any]]:
    """The last reports for `kith status`: date, recipient, state, attempts, next try, error."""
    rows = session.execute(
        select(
            REPORT.c.report_date,
            REPORT.c.recipient,
            REPORT.c.status,
            REPORT.c.attempts,
            REPORT.c.sent_at,
            REPORT.c.next_attempt_at,
            REPORT.c.message_id,
            REPORT.c.error,
        )
        .order_by(REPORT.c.report_date.desc(), REPORT.c.id.desc())
        .limit(limit)
    )
    return [dict(r._mapping) for r in rows]


__all__ = [
    "LEASE",
    "Claim",
    "backoff",
    "claim",
    "mark_failed",
    "mark_sent",
    "previous_payload",
    "report_status",
    "row_for",
]
