"""Is a daemon running on this database, and when did one last run? (for `kith status`)

Each `kith run` worker beats while its loop turns: it takes or renews the lease
``daemon:<worker>`` (kith.store.leases: expires after ``[daemon] lease`` without a beat, deleted
on a clean stop) and writes the time in ``kith_meta`` (``daemon_last_seen``), which outlives it.
So a reader tells "running" (a live lease) from "stopped, last seen at …" from "never ran", without
trusting a process id on another machine, and "next run: due now" no longer shows forever when
nothing will ever run it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, select

from kith.store import leases
from kith.store.models import utcnow
from kith.store.tables import LEASE, META
from kith.store.upsert import upsert

PREFIX = "daemon:"
LAST_SEEN = "daemon_last_seen"


def beat(engine: Engine, worker: str, ttl: timedelta, *, now: datetime | None = None) -> None:
    """Say this worker is alive for ``ttl`` more, and remember when it was last seen."""
    now = now or utcnow()
    leases.acquire(engine, PREFIX + worker, worker, ttl, now=now)
    with engine.begin() as conn:
        value = {"worker": worker, "at": now.isoformat()}
        upsert(conn, META, [{"key": LAST_SEEN, "value": value}], keys=["key"], update=["value"])


def presence(conn: Connection, *, now: datetime | None = None) -> dict[str, Any]:
    """``{"running": [{"worker", "last_beat", "expires_at"}…], "last_seen": {"worker", "at"} | None}``."""
    now = now or utcnow()
    live = conn.execute(
        select(LEASE.c.holder, LEASE.c.acquired_at, LEASE.c.expires_at)
        .where(and_(LEASE.c.name.startswith(PREFIX), LEASE.c.expires_at >= now))
        .order_by(LEASE.c.holder)
    )
    # acquire() stamps acquired_at at every renewal: it is the worker's last beat
    running = [{"worker": w, "last_beat": at, "expires_at": until} for w, at, until in live]
    seen = conn.execute(select(META.c.value).where(META.c.key == LAST_SEEN)).scalar()
    last_seen = None
    if isinstance(seen, dict) and seen.get("at"):
        last_seen = {"worker": seen.get("worker"), "at": datetime.fromisoformat(seen["at"])}
    return {"running": running, "last_seen": last_seen}


__all__ = ["beat", "presence"]
