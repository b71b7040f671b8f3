"""What `kith status` tells about the data beyond the sync: forgeries and the analysis' own state.

- **Forgeries**: messages whose From is one of my addresses but that no provider says I sent (no
  copy in a Sent-role folder, no Gmail SENT label). The analysis never takes them for my replies
  (``kith.analysis.facts.sent_by_me``); they are counted per mailbox so the owner sees them.
- **The analysis**: how much the syncs queued and it has not taken yet (the backlog), when it last
  ran, the error of its last failed run (cleared by the next good one), and the contacts whose
  evaluation failed (``kith.analysis.persist.record_failures``).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, exists, func, not_, or_, select

from kith.store.tables import LOCATION, MESSAGE, META, QUEUE, RUN, STREAM
from kith.store.upsert import upsert

#: ``kith_meta`` key of the last failed analysis run: {"error", "at"}; removed by a good run.
ERROR_KEY = "analysis_error"


def forged_counts(conn: Connection, me: Collection[str]) -> dict[int, int]:
    """mailbox id -> live messages from one of ``me`` (lower-case addresses) that no provider
    says I sent (the same test as ``sent_by_me``, in SQL)."""
    if not me:
        return {}
    # " SENT " or " \\Sent " among the space-separated labels, without case
    labels = func.lower(func.replace(" " + LOCATION.c.labels + " ", "\\", ""))
    sent = exists().where(
        LOCATION.c.message_id == MESSAGE.c.id,
        STREAM.c.id == LOCATION.c.stream_id,
        or_(STREAM.c.role == "sent", labels.like("% sent %")),
    )
    q = (
        select(MESSAGE.c.mailbox_id, func.count())
        .where(and_(MESSAGE.c.from_addr.in_(sorted(me)), MESSAGE.c.deleted_at.is_(None), not_(sent)))
        .group_by(MESSAGE.c.mailbox_id)
    )
    return {int(m): int(n) for m, n in conn.execute(q)}


#: (database, my addresses, what the syncs last wrote) -> forged counts; see ``forged_counts_cached``.
_FORGED: dict[tuple[Any, ...], dict[int, int]] = {}


def _written_marker(conn: Connection) -> tuple[Any, ...]:
    """What changes whenever a sync writes messages or their folders: the newest message and
    location rows, the newest run and when the latest runs finished. Four index lookups."""
    recent = select(RUN.c.finished_at).order_by(RUN.c.id.desc()).limit(100).subquery()
    return (
        conn.execute(select(func.max(MESSAGE.c.id))).scalar(),
        conn.execute(select(func.max(LOCATION.c.id))).scalar(),
        conn.execute(select(func.max(RUN.c.id))).scalar(),
        conn.execute(select(func.max(recent.c.finished_at))).scalar(),
    )


def forged_counts_cached(conn: Connection, me: Collection[str]) -> dict[int, int]:
    """``forged_counts``, recomputed only when a sync has written since the last time.

    The count reads every message from my addresses (about half of all mail: ~40 ms at 100k
    messages, ten times that at 1M), and the web's Sync health page asks for it on every load;
    only a sync changes it, and every sync leaves a run row (deletions and moves are seen once
    their run finishes). The web process uses this; ``kith status`` reads afresh."""
    if not me:
        return {}
    key = (str(conn.engine.url), tuple(sorted(me)), *_written_marker(conn))
    if key not in _FORGED:
        if len(_FORGED) >= 8:
            _FORGED.clear()
        _FORGED[key] = forged_counts(conn, me)
    return dict(_FORGED[key])


def _meta(conn: Connection, key: str) -> Any:
    return conn.execute(select(META.c.value).where(META.c.key == key)).scalar()


def analysis_health(conn: Connection) -> dict[str, Any]:
    """The analysis' backlog, last run, last error and failed contacts (a few named)."""
    failures = _meta(conn, "analysis_failures")
    failures = dict(failures) if isinstance(failures, dict) else {}
    error = _meta(conn, ERROR_KEY)
    return {
        "queued": int(conn.execute(select(func.count()).select_from(QUEUE)).scalar_one()),
        "last_run": _meta(conn, "analysis_at"),
        "last_error": error.get("error") if isinstance(error, dict) else None,
        "last_error_at": error.get("at") if isinstance(error, dict) else None,
        "failed_contacts": len(failures),
        "failures": dict(sorted(failures.items())[:5]),
    }


def record_analysis_error(engine: Engine, error: str, now: datetime) -> None:
    """Keep the error of the last analysis run, in a transaction of its own (the run's rolled
    back); the next good run clears it (``clear_analysis_error``)."""
    with engine.begin() as conn:
        value = {"error": error[:2000], "at": now.isoformat()}
        upsert(conn, META, [{"key": ERROR_KEY, "value": value}], keys=["key"], update=["value"])


def clear_analysis_error(conn: Connection) -> None:
    """In a good run's transaction: the last error is history (written only when there is one)."""
    if _meta(conn, ERROR_KEY) is not None:
        conn.execute(META.delete().where(META.c.key == ERROR_KEY))


__all__ = [
    "ERROR_KEY",
    "analysis_health",
    "clear_analysis_error",
    "forged_counts",
    "forged_counts_cached",
    "record_analysis_error",
]
