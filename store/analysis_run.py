"""What one analysis run asks of the store around its work: its lock, its settings, its marks.

The run itself (``kith.analysis.engine``) decides; these are its statements: one analysis at a
time per PostgreSQL database, the JIT off for the incremental path's many short lookups, the
fingerprint that says whether the stored results still match the rules and the config, and the
counts it decides and reports with.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Connection, func, select, text

from kith.store.tables import CONTACT, CONTACT_ADDRESS, FACT, FLAG, META, QUEUE, STAT
from kith.store.upsert import chunks, upsert

ADVISORY_LOCK = 0x6B697468  # "kith": one analysis at a time per PostgreSQL database


def lock_analysis(conn: Connection) -> None:
    """On PostgreSQL, wait for any other analysis to commit; held until this transaction ends
    (SQLite's write lock already lets one writer at a time)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK})


@contextmanager
def no_jit(conn: Connection) -> Iterator[None]:
    """PostgreSQL's JIT off for the run's statements, then as it was.

    The incremental path's reads are many short lookups whose estimated cost still passes the
    JIT threshold: compiling each took longer than the query saved (measured at 1M messages,
    PostgreSQL 15: 0.1-0.2 s of a 2.4 s run).
    """
    # (a server without the setting, before PostgreSQL 11, has no JIT to turn off)
    pg = conn.dialect.name == "postgresql"
    was = conn.execute(text("SELECT current_setting('jit', true)")).scalar() if pg else None
    if was is None:
        yield
        return
    conn.execute(text("SELECT set_config('jit', 'off', true)"))
    yield  # on an error the transaction rolls back, and the setting with it
    conn.execute(text("SELECT set_config('jit', :was, true)"), {"was": was})


def stored_fingerprint(conn: Connection) -> str | None:
    """The fingerprint (identities and analysis settings) the stored results were derived with."""
    value: str | None = conn.execute(select(META.c.value).where(META.c.key == "analysis_fingerprint")).scalar()
    return value


def record_run(conn: Connection, fingerprint: str, now: datetime) -> None:
    """Mark the stored results as derived with ``fingerprint``, at ``now``."""
    upsert(conn, META, [{"key": "analysis_fingerprint", "value": fingerprint}], keys=["key"], update=["value"])
    upsert(conn, META, [{"key": "analysis_at", "value": now.isoformat()}], keys=["key"], update=["value"])


def queued_messages(conn: Connection) -> int:
    """How many message rows the sync has queued for the analysis."""
    return conn.execute(select(func.count()).select_from(QUEUE).where(QUEUE.c.message_id.is_not(None))).scalar() or 0


def fact_count(conn: Connection) -> int:
    """How many mail facts are stored (a scan of the table: ask only when it matters)."""
    return conn.execute(select(func.count()).select_from(FACT)).scalar() or 0


def open_flag_counts(conn: Connection) -> dict[str, int]:
    """Open flags per kind."""
    q = select(FLAG.c.kind, func.count()).where(FLAG.c.state == "open").group_by(FLAG.c.kind)
    return {kind: n for kind, n in conn.execute(q)}


def due_contacts(conn: Connection, now: datetime) -> set[str]:
    """Contacts the clock has moved: a stored next_check or a snooze that has come."""
    due = {
        a
        for (a,) in conn.execute(
            select(CONTACT.c.address).join(STAT, STAT.c.contact_id == CONTACT.c.id).where(STAT.c.next_check <= now)
        )
    }
    due |= {
        a
        for (a,) in conn.execute(
            select(FLAG.c.contact_address).where(FLAG.c.state == "snoozed", FLAG.c.snoozed_until <= now)
        )
    }
    return due


def addresses_of_contacts(conn: Connection, contacts: set[str]) -> set[str]:
    """Every address stored for these contacts (their canonical address and the others)."""
    out: set[str] = set()
    for chunk in chunks(sorted(contacts)):
        q = select(CONTACT_ADDRESS.c.address).join(CONTACT).where(CONTACT.c.address.in_(chunk))
        out.update(a for (a,) in conn.execute(q))
    return out


__all__ = [
    "ADVISORY_LOCK",
    "addresses_of_contacts",
    "due_contacts",
    "fact_count",
    "lock_analysis",
    "no_jit",
    "open_flag_counts",
    "queued_messages",
    "record_run",
    "stored_fingerprint",
]
