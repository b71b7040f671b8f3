"""What the sync and the report left on record, for the web app's Sync health and Reports pages:
recent sync runs, the recorded problems (which item, why), and the nightly reports sent.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from kith.store.tables import MAILBOX, PROBLEM, REPORT, RUN, STREAM


def recent_runs(conn: Connection, limit: int = 20) -> list[dict[str, Any]]:
    """The newest sync runs of every mailbox, newest first."""
    q = (
        select(
            MAILBOX.c.name.label("mailbox"),
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
        .join(MAILBOX, MAILBOX.c.id == RUN.c.mailbox_id)
        .order_by(RUN.c.id.desc())
        .limit(limit)
    )
    return [dict(r) for r in conn.execute(q).mappings()]


def recorded_problems(conn: Connection, limit: int = 50) -> tuple[list[dict[str, Any]], int]:
    """The newest recorded problems (mailbox, stream, item key, reason) and how many there are."""
    q = (
        select(
            MAILBOX.c.name.label("mailbox"),
            STREAM.c.name.label("stream"),
            PROBLEM.c.provider_key.label("item"),
            PROBLEM.c.message.label("reason"),
            PROBLEM.c.seen_at,
        )
        .join(STREAM, STREAM.c.id == PROBLEM.c.stream_id)
        .join(MAILBOX, MAILBOX.c.id == STREAM.c.mailbox_id)
        .order_by(PROBLEM.c.seen_at.desc(), PROBLEM.c.id.desc())
        .limit(limit)
    )
    total = conn.execute(select(func.count()).select_from(PROBLEM)).scalar() or 0
    return [dict(r) for r in conn.execute(q).mappings()], total


def sent_reports(conn: Connection, limit: int = 60) -> list[dict[str, Any]]:
    """The nightly reports on record, newest first (without their payloads)."""
    q = (
        select(
            REPORT.c.id,
            REPORT.c.report_date,
            REPORT.c.recipient,
            REPORT.c.status,
            REPORT.c.sent_at,
            REPORT.c.attempts,
            REPORT.c.error,
        )
        .order_by(REPORT.c.report_date.desc(), REPORT.c.id.desc())
        .limit(limit)
    )
    return [dict(r) for r in conn.execute(q).mappings()]


def report_payload(conn: Connection, report_id: int) -> dict[str, Any] | None:
    """One report's row with the data it was built from (``payload``), or None."""
    row = conn.execute(select(REPORT).where(REPORT.c.id == report_id)).mappings().first()
    return None if row is None else dict(row)


__all__ = ["recent_runs", "recorded_problems", "report_payload", "sent_reports"]
