"""Apply a calendar stream's events to the store: the events, their attendees, their deletions.

Part of applying one ``Batch`` (``kith.store.ingest``), in the caller's transaction. An event
is one row per (stream, provider key), its attendees rewritten whole on every change; the
addresses an event names, before and after, go to the analysis queue with the batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, delete, select

from kith.connectors.base import EventRecord
from kith.store.models import utcnow
from kith.store.tables import ATTENDEE, EVENT
from kith.store.upsert import chunks, upsert


def apply_events(
    conn: Connection, stream_id: int, recs: Sequence[EventRecord], versions: Mapping[str, Any]
) -> set[str]:
    """Upsert these events of one calendar stream and rewrite their attendees; returns every
    address they touched: their attendees and organizers, before and after."""
    now = utcnow()
    touched: set[str] = set()
    rows = [
        {
            "stream_id": stream_id,
            "provider_key": e.provider_key,
            "uid": e.uid,
            "recurrence_id": e.recurrence_id,
            "start": e.start,
            "end": e.end,
            "all_day": e.all_day,
            "summary": e.summary,
            "organizer_addr": e.organizer.address if e.organizer else None,
            "organizer_name": e.organizer.name if e.organizer else None,
            "status": e.status,
            "my_response": e.my_response,
            "cancelled": e.cancelled,
            "version": versions.get(e.provider_key),
            "problems": list(e.problems) or None,
            "updated_at": now,
        }
        for e in {e.provider_key: e for e in recs}.values()
    ]
    update_cols = [c for c in rows[0] if c not in ("stream_id", "provider_key")]
    for chunk in chunks(rows):
        upsert(conn, EVENT, chunk, keys=["stream_id", "provider_key"], update=update_cols)
    ids: dict[str, int] = {}
    for chunk in chunks([r["provider_key"] for r in rows]):
        q = select(EVENT.c.provider_key, EVENT.c.id).where(
            EVENT.c.stream_id == stream_id, EVENT.c.provider_key.in_(chunk)
        )
        ids.update({k: i for k, i in conn.execute(q)})
    touched |= _event_addresses(conn, ids.values())  # the attendees it had before
    for chunk in chunks(list(ids.values())):
        conn.execute(delete(ATTENDEE).where(ATTENDEE.c.event_id.in_(chunk)))
    atts = [
        {
            "event_id": ids[e.provider_key],
            "position": i,
            "address": a.address,
            "name": a.name[:500],
            "role": a.role,
            "partstat": a.partstat,
        }
        for e in {e.provider_key: e for e in recs}.values()
        for i, a in enumerate(e.attendees)
    ]
    for chunk in chunks(atts):
        upsert(conn, ATTENDEE, chunk, keys=["event_id", "position"], update=["address", "name", "role", "partstat"])
    touched.update(a["address"] for a in atts)
    touched.update(e.organizer.address for e in recs if e.organizer)
    return touched


def _event_addresses(conn: Connection, event_ids: Iterable[int]) -> set[str]:
    found: set[str] = set()
    for chunk in chunks(sorted(set(event_ids))):
        found.update(
            a for (a,) in conn.execute(select(ATTENDEE.c.address).where(ATTENDEE.c.event_id.in_(chunk)).distinct())
        )
        found.update(
            a for (a,) in conn.execute(select(EVENT.c.organizer_addr).where(EVENT.c.id.in_(chunk))) if a is not None
        )
    return found


def delete_events(conn: Connection, stream_id: int, keys: Sequence[str]) -> set[str] | None:
    """Delete the events of this stream with these provider keys; returns the addresses they
    named, or None when none of the keys names an event (on a mail stream, none does)."""
    ev_ids: list[int] = []
    for chunk in chunks(keys):
        ev_ids += [
            i
            for (i,) in conn.execute(
                select(EVENT.c.id).where(EVENT.c.stream_id == stream_id, EVENT.c.provider_key.in_(chunk))
            )
        ]
    if not ev_ids:
        return None
    touched = _event_addresses(conn, ev_ids)
    for chunk in chunks(ev_ids):
        conn.execute(delete(EVENT).where(EVENT.c.id.in_(chunk)))
    return touched


__all__ = ["apply_events", "delete_events"]
