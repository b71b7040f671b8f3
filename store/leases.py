"""Leases: which worker process works on what (a mailbox) until when.

Several ``kith run`` processes may share one PostgreSQL database. Each mailbox must be synced by
exactly one of them at a time, and a worker that dies must not keep its mailboxes forever. A row
in ``leases`` (name, holder, expires_at) says who has it; the holder renews it while it works and
deletes it when done; once ``expires_at`` passes anyone may take it over.

Only portable statements are used, so the same code runs on SQLite and PostgreSQL:

1. ``UPDATE leases SET holder = me … WHERE name = n AND (holder = me OR expires_at < now)``:
   takes an expired lease (or renews ours). On PostgreSQL two concurrent takers serialise on the
   row lock and the second re-checks the WHERE clause against the first one's row, so it fails;
   SQLite serialises writers anyway.
2. When no row matched, ``INSERT … ON CONFLICT DO NOTHING``: the first inserter wins.

On PostgreSQL the times come from the database's clock (``now()``), so workers on several
machines agree on expiry whatever their own clocks say; on SQLite (one machine) from Python's.
Tests pass ``now`` explicitly to travel in time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, Engine, and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from kith.store.models import utcnow
from kith.store.tables import LEASE


def _insert(engine: Engine):  # type: ignore[no-untyped-def]
    return (postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert)(LEASE)


def _clock(engine: Engine, now: datetime | None) -> Any:
    """``now`` if given, else the database's clock on PostgreSQL, else this machine's."""
    if now is not None:
        return now
    if engine.dialect.name == "postgresql":
        return func.timezone("UTC", func.now(), type_=DateTime())  # naive UTC, as the column stores it
    return utcnow()


def acquire(engine: Engine, name: str, holder: str, ttl: timedelta, *, now: datetime | None = None) -> bool:
    """Take ``name`` for ``holder`` until now + ttl; True when we hold it now (new, renewed or taken over)."""
    now = _clock(engine, now)
    values = {"holder": holder, "expires_at": now + ttl}
    with engine.begin() as conn:
        taken = conn.execute(
            update(LEASE)
            .where(and_(LEASE.c.name == name, or_(LEASE.c.holder == holder, LEASE.c.expires_at < now)))
            .values(**values, acquired_at=now)
        ).rowcount
        if taken:
            return True
        # RETURNING, not rowcount: drivers disagree on the rowcount of a skipped ON CONFLICT insert
        stmt = _insert(engine).values(name=name, acquired_at=now, **values).on_conflict_do_nothing()
        return conn.execute(stmt.returning(LEASE.c.name)).first() is not None


def renew(engine: Engine, name: str, holder: str, ttl: timedelta, *, now: datetime | None = None) -> bool:
    """Extend our lease; False when it is not ours any more (it expired and someone took it)."""
    now = _clock(engine, now)
    with engine.begin() as conn:
        return bool(
            conn.execute(
                update(LEASE).where(and_(LEASE.c.name == name, LEASE.c.holder == holder)).values(expires_at=now + ttl)
            ).rowcount
        )


def release(engine: Engine, name: str, holder: str) -> None:
    """Give the lease up (only if it is still ours), so another worker may start at once."""
    with engine.begin() as conn:
        conn.execute(delete(LEASE).where(and_(LEASE.c.name == name, LEASE.c.holder == holder)))


def release_all(engine: Engine, holder: str) -> int:
    """Everything this worker holds, on a clean shutdown."""
    with engine.begin() as conn:
        return int(conn.execute(delete(LEASE).where(LEASE.c.holder == holder)).rowcount or 0)


def release_dead_local(engine: Engine, host: str) -> list[str]:
    """Drop leases held by processes of this host (``host:pid``, the default worker id) that are dead.

    A daemon restarted after a crash or SIGKILL gets a new pid, so without this it would wait a
    whole lease period for its own dead predecessor's mailboxes. Only this host's pids are checked,
    so worker ids must be unique per host (hostnames are, pod names too).
    """
    import os

    gone: list[str] = []
    with engine.begin() as conn:
        rows = conn.execute(select(LEASE.c.holder).where(LEASE.c.holder.startswith(f"{host}:")).distinct())
        for (holder,) in rows:
            pid = holder.removeprefix(f"{host}:")
            if not pid.isdigit():
                continue
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                gone.append(holder)
            except PermissionError:  # alive, someone else's
                continue
        for holder in gone:
            conn.execute(delete(LEASE).where(LEASE.c.holder == holder))
    return gone


def holders(engine: Engine, *, prefix: str = "", now: datetime | None = None) -> dict[str, str]:
    """name -> holder of every live (unexpired) lease whose name starts with ``prefix``."""
    now = _clock(engine, now)
    with engine.connect() as conn:
        rows = conn.execute(
            select(LEASE.c.name, LEASE.c.holder).where(and_(LEASE.c.name.startswith(prefix), LEASE.c.expires_at >= now))
        )
        return {r.name: r.holder for r in rows}


def expires_at(engine: Engine, name: str) -> datetime | None:
    """When the current lease on ``name`` runs out (None: nobody holds it)."""
    with engine.connect() as conn:
        return conn.execute(select(LEASE.c.expires_at).where(LEASE.c.name == name)).scalar_one_or_none()


def mailbox_lease(name: str) -> str:
    """The lease name of a mailbox."""
    return f"mailbox:{name}"


__all__ = ["acquire", "expires_at", "holders", "mailbox_lease", "release", "release_all", "release_dead_local", "renew"]
