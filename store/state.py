"""Bookkeeping of the sync itself: mailbox and stream rows, cursors, runs, errors, known keys.

Every function takes a Connection and returns plain values; the sync engine decides when to
commit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from kith.connectors.base import Stream
from kith.store.ingest import StreamRef, enqueue, sweep_orphans
from kith.store.models import (
    utcnow,
)
from kith.store.tables import EVENT, LOCATION, MAILBOX, PROBLEM, RUN, STREAM


@dataclass(frozen=True, slots=True)
class StreamState:
    ref: StreamRef
    name: str
    role: str
    cursor: Any


def ensure_mailbox(conn: Connection, name: str, kind: str) -> int:
    row = conn.execute(select(MAILBOX.c.id, MAILBOX.c.kind).where(MAILBOX.c.name == name)).first()
    if row is not None:
        if row.kind != kind:
            conn.execute(update(MAILBOX).where(MAILBOX.c.id == row.id).values(kind=kind))
        return int(row.id)
    return int(
        conn.execute(
            insert(MAILBOX).values(name=name, kind=kind, created_at=utcnow(), failures=0)
        ).inserted_primary_key[0]  # type: ignore[index]
    )


def ensure_streams(
    conn: Connection, mailbox_id: int, streams: Iterable[Stream], *, retire_missing: bool = True
) -> list[StreamState]:
    """Rows for the streams the source lists now; streams it no longer lists are marked absent.

    A renamed folder is a new stream (the provider keys of the old one are gone with it: the
    rename shows up as deletions there and additions here, and the messages keep their ids
    because they are keyed by Message-ID).
    """
    streams = list(streams)
    existing = {r.name: r for r in conn.execute(select(STREAM).where(STREAM.c.mailbox_id == mailbox_id))}
    out: list[StreamState] = []
    for s in streams:
        row = existing.get(s.name)
        if row is None:
            sid = conn.execute(
                insert(STREAM).values(
                    mailbox_id=mailbox_id,
                    name=s.name,
                    role=str(s.role),
                    display_name=s.display_name,
                    item_count=0,
                    present=True,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            out.append(StreamState(StreamRef(int(sid), mailbox_id), s.name, str(s.role), None))
        else:
            if row.role != str(s.role) or not row.present or row.display_name != s.display_name:
                conn.execute(
                    update(STREAM)
                    .where(STREAM.c.id == row.id)
                    .values(role=str(s.role), present=True, display_name=s.display_name)
                )
            if row.role != str(s.role):
                # the role decides whether its messages are interactions (junk, trash, drafts are
                # not): the analysis must look at every message of the folder again
                held = conn.execute(select(LOCATION.c.message_id).where(LOCATION.c.stream_id == row.id))
                enqueue(conn, {m for (m,) in held}, ())
            out.append(StreamState(StreamRef(int(row.id), mailbox_id), s.name, str(s.role), row.cursor))
    if retire_missing:
        listed = {s.name for s in streams}
        gone = [r for name, r in existing.items() if name not in listed and r.present]
        for r in gone:
            retire_stream(conn, int(r.id))
    return out


def retire_stream(conn: Connection, stream_id: int) -> set[int]:
    """The provider no longer has this stream: drop its locations (messages elsewhere survive)."""
    msg_ids = {m for (m,) in conn.execute(select(LOCATION.c.message_id).where(LOCATION.c.stream_id == stream_id))}
    conn.execute(delete(LOCATION).where(LOCATION.c.stream_id == stream_id))
    conn.execute(delete(EVENT).where(EVENT.c.stream_id == stream_id))
    conn.execute(update(STREAM).where(STREAM.c.id == stream_id).values(present=False, cursor=None, item_count=0))
    sweep_orphans(conn, msg_ids, utcnow())
    enqueue(conn, msg_ids, ())
    return msg_ids


def reset_cursor(conn: Connection, stream_id: int) -> None:
    conn.execute(update(STREAM).where(STREAM.c.id == stream_id).values(cursor=None))


def stream_cursor(conn: Connection, stream_id: int) -> Any:
    return conn.execute(select(STREAM.c.cursor).where(STREAM.c.id == stream_id)).scalar_one_or_none()


def known_keys(conn: Connection, stream_id: int) -> dict[str, str | None]:
    """provider_key -> version for everything the store holds in a stream."""
    out: dict[str, str | None] = {
        k: v
        for k, v in conn.execute(
            select(LOCATION.c.provider_key, LOCATION.c.version).where(LOCATION.c.stream_id == stream_id)
        )
    }
    out.update(
        {
            k: v
            for k, v in conn.execute(
                select(EVENT.c.provider_key, EVENT.c.version).where(EVENT.c.stream_id == stream_id)
            )
        }
    )
    return out


def finish_stream(conn: Connection, stream_id: int, *, error: str | None, now: datetime | None = None) -> None:
    now = now or utcnow()
    count = conn.execute(
        select(func.count()).select_from(LOCATION).where(LOCATION.c.stream_id == stream_id)
    ).scalar_one()
    count += conn.execute(select(func.count()).select_from(EVENT).where(EVENT.c.stream_id == stream_id)).scalar_one()
    values: dict[str, Any] = {"item_count": count}
    if error is None:
        values.update(last_success=now, last_error=None)
    else:
        values.update(last_error=error[:2000], last_error_at=now)
    conn.execute(update(STREAM).where(STREAM.c.id == stream_id).values(**values))


def start_run(conn: Connection, mailbox_id: int, *, worker: str, full: bool) -> int:
    return int(
        conn.execute(
            insert(RUN).values(
                mailbox_id=mailbox_id,
                worker=worker,
                full=full,
                started_at=utcnow(),
                status="running",
                upserts=0,
                deletions=0,
                problems=0,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
    )


def finish_run(
    conn: Connection, run_id: int, *, status: str, counts: Mapping[str, int], error: str | None = None
) -> None:
    conn.execute(
        update(RUN)
        .where(RUN.c.id == run_id)
        .values(finished_at=utcnow(), status=status, error=(error or None) and error[:4000], **counts)
    )


def set_mailbox_health(
    conn: Connection,
    mailbox_id: int,
    *,
    auth_error: str | None = None,
    server_alert: str | None = None,
    failures: int | None = None,
    next_run_at: datetime | None = None,
) -> None:
    values: dict[str, Any] = {"auth_error": auth_error, "server_alert": server_alert}
    if failures is not None:
        values["failures"] = failures
    if next_run_at is not None:
        values["next_run_at"] = next_run_at
    conn.execute(update(MAILBOX).where(MAILBOX.c.id == mailbox_id).values(**values))


def problem_count(conn: Connection, stream_ids: Iterable[int]) -> int:
    ids = list(stream_ids)
    if not ids:
        return 0
    return int(conn.execute(select(func.count()).select_from(PROBLEM).where(PROBLEM.c.stream_id.in_(ids))).scalar_one())


__all__ = [
    "StreamState",
    "ensure_mailbox",
    "ensure_streams",
    "finish_run",
    "finish_stream",
    "known_keys",
    "problem_count",
    "reset_cursor",
    "retire_stream",
    "set_mailbox_health",
    "start_run",
    "stream_cursor",
]
