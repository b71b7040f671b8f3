"""What `kith status` shows, read from the database alone (so it works while the daemon runs)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from kith.store.backfill import backfill_status
from kith.store.daemons import presence
from kith.store.health import forged_counts, forged_counts_cached
from kith.store.models import utcnow
from kith.store.tables import LEASE, MAILBOX, PROBLEM, RUN, STREAM


def _age(ts: datetime | None, now: datetime) -> float | None:
    return None if ts is None else round((now - ts).total_seconds(), 1)


def mailbox_status(
    conn: Connection, *, now: datetime | None = None, me: Collection[str] = (), cached: bool = False
) -> list[dict[str, Any]]:
    """Every mailbox with its streams: last success, lag, counts, last error, problems, and (given
    my addresses, ``me``) the messages from my address that no provider says I sent (``cached``:
    counted again only after a sync wrote, for the web page that asks on every load)."""
    now = now or utcnow()
    forged = (forged_counts_cached if cached else forged_counts)(conn, me)
    grouped = conn.execute(select(PROBLEM.c.stream_id, func.count()).group_by(PROBLEM.c.stream_id))
    problems: dict[int, int] = {sid: n for sid, n in grouped}
    last_runs: dict[int, Any] = {}
    latest = select(RUN.c.mailbox_id, func.max(RUN.c.id).label("id")).group_by(RUN.c.mailbox_id).subquery()
    for row in conn.execute(select(RUN).join(latest, RUN.c.id == latest.c.id)):
        last_runs[row.mailbox_id] = row
    # the worker syncing each mailbox right now (its live lease; see kith.store.leases)
    live = select(LEASE.c.name, LEASE.c.holder).where(LEASE.c.expires_at >= now)
    syncing_on: dict[str, str] = {
        name.removeprefix("mailbox:"): holder for name, holder in conn.execute(live) if name.startswith("mailbox:")
    }
    out = []
    for mb in conn.execute(select(MAILBOX).order_by(MAILBOX.c.name)):
        streams = []
        for st in conn.execute(select(STREAM).where(STREAM.c.mailbox_id == mb.id).order_by(STREAM.c.name)):
            streams.append(
                {
                    "name": st.name,
                    "role": st.role,
                    "present": st.present,
                    "items": st.item_count,
                    "last_success": st.last_success,
                    "lag_seconds": _age(st.last_success, now),
                    "last_error": st.last_error,
                    "last_error_at": st.last_error_at,
                    "problems": problems.get(st.id, 0),
                }
            )
        run = last_runs.get(mb.id)
        successes = [s["last_success"] for s in streams if s["last_success"] and s["present"]]
        errors = [s for s in streams if s["last_error"] and s["present"]]
        state = "never synced"
        if run is not None:
            state = "syncing" if run.status == "running" else run.status
        if mb.auth_error:
            state = "auth"
        out.append(
            {
                "name": mb.name,
                "kind": mb.kind,
                "state": state,
                "last_success": min(successes) if successes else None,
                "lag_seconds": _age(min(successes), now) if successes else None,
                "items": sum(s["items"] for s in streams if s["present"]),
                "problems": sum(s["problems"] for s in streams),
                "forged_from_me": forged.get(mb.id, 0),
                "error": mb.auth_error
                or (run.error if run is not None and run.error else None)
                or (errors[0]["last_error"] if errors else None),
                "auth_error": mb.auth_error,
                "server_alert": mb.server_alert,
                "next_run_at": mb.next_run_at,
                # negative: overdue by that much (the daemon is busy, stopped, or backing off)
                "next_run_in_seconds": None
                if mb.next_run_at is None
                else round((mb.next_run_at - now).total_seconds(), 1),
                "syncing_on": syncing_on.get(mb.name),
                "failures": mb.failures,
                "last_run": None
                if run is None
                else {
                    "started_at": run.started_at,
                    "finished_at": run.finished_at,
                    "status": run.status,
                    "worker": run.worker,
                    "upserts": run.upserts,
                    "deletions": run.deletions,
                    "problems": run.problems,
                },
                "streams": streams,
                # the first full sync's progress while it runs (issue 28), else None
                "backfill": backfill_status(conn, mb.id, now),
            }
        )
    return out


def daemon_status(conn: Connection, *, now: datetime | None = None) -> dict[str, Any]:
    """Which `kith run` workers are alive (their heartbeat lease) and when one was last seen."""
    return presence(conn, now=now)


__all__ = ["daemon_status", "mailbox_status"]
