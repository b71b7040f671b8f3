"""What the sync and the report left on record, for the web app's Sync health and Reports pages:
recent sync runs, the recorded problems (which item, why), and the nightly reports sent.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from kith.store.models import MailboxRow, ReportRow, StreamRow, SyncProblem, SyncRun

MB = MailboxRow.__table__
ST = StreamRow.__table__
RUN = SyncRun.__table__
PROB = SyncProblem.__table__
REPORTS = ReportRow.__table__


def recent_runs(conn: Connection, limit: int = 20) -> list[dict[str, Any]]:
    """The newest sync runs of every mailbox, newest first."""
    q = (
        select(
            MB.c.name.label("mailbox"),
            RUN.c.started_at,
            RUN.c.finished_at,
            RUN.c.status,
            RUN.c.full,
            RUN.c.upserts,
            RUN.c.deletions,
            RUN.c.problems,
            RUN.c.error,
            RUN.c.worker,
        )
        .join(MB, MB.c.id == RUN.c.mailbox_id)
        .order_by(RUN.c.id.desc())
        .limit(limit)
    )
    return [dict(r) for r in conn.execute(q).mappings()]


def recorded_problems(conn: Connection, limit: int = 50) -> tuple[list[dict[str, Any]], int]:
    """The newest recorded problems (mailbox, stream, item key, reason) and how many there are."""
    q = (
        select(
            MB.c.name.label("mailbox"),
            ST.c.name.label("stream"),
            PROB.c.provider_key.label("item"),
            PROB.c.message.label("reason"),
            PROB.c.seen_at,
        )
        .join(ST, ST.c.id == PROB.c.stream_id)
        .join(MB, MB.c.id == ST.c.mailbox_id)
        .order_by(PROB.c.seen_at.desc(), PROB.c.id.desc())
        .limit(limit)
    )
    total = conn.execute(select(func.count()).select_from(PROB)).scalar() or 0
    return [dict(r) for r in conn.execute(q).mappings()], total


def sent_reports(conn: Connection, limit: int = 60) -> list[dict[str, Any]]:
    """The nightly reports on record, newest first (without their payloads)."""
    q = (
        select(
            REPORTS.c.id,
            REPORTS.c.report_date,
            REPORTS.c.recipient,
            REPORTS.c.status,
            REPORTS.c.sent_at,
            REPORTS.c.attempts,
            REPORTS.c.error,
        )
        .order_by(REPORTS.c.report_date.desc(), REPORTS.c.id.desc())
        .limit(limit)
    )
    return [dict(r) for r in conn.execute(q).mappings()]


def report_payload(conn: Connection, report_id: int) -> dict[str, Any] | None:
    """One report's row with the data it was built from (``payload``), or None."""
    row = conn.execute(select(REPORTS).where(REPORTS.c.id == report_id)).mappings().first()
    return None if row is None else dict(row)


__all__ = ["recent_runs", "recorded_problems", "report_payload", "sent_reports"]
