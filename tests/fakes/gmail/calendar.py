"""The state behind the fake Google Calendar API: events per calendar and sync tokens.

``events.list`` without ``syncToken`` lists the live events (``showDeleted`` false), paged by
``maxResults`` (default 250), the last page carrying ``nextSyncToken``. With ``syncToken`` it lists
every event changed since, deleted ones as ``{"id", "status": "cancelled"}`` (what Google sends
for a deleted event), and answers 410 ``fullSyncRequired`` once the token has expired.
``timeMin`` and the sync-token restrictions are honoured the way the documentation states.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.gmail.mailbox import ApiError


@dataclass
class FakeCalendar:
    events: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    seq: int = 1
    min_seq: int = 0
    lock: threading.RLock = field(default_factory=threading.RLock)

    def put_event(self, calendar_id: str, event: dict[str, Any]) -> None:
        """Insert or update (``event["id"]`` keys it); bumps ``updated`` and the etag."""
        with self.lock:
            self.seq += 1
            ev = {"kind": "calendar#event", "status": "confirmed", **event}
            ev["etag"] = f'"{self.seq}"'
            ev["_seq"] = self.seq
            self.events.setdefault(calendar_id, {})[ev["id"]] = ev

    def cancel_event(self, calendar_id: str, event_id: str) -> None:
        """An instance or meeting cancelled: it stays, with ``status: cancelled``."""
        with self.lock:
            ev = dict(self.events[calendar_id][event_id])
            ev["status"] = "cancelled"
            self.put_event(calendar_id, ev)

    def delete_event(self, calendar_id: str, event_id: str) -> None:
        """Deleted outright: incremental lists show only the id and status."""
        with self.lock:
            self.seq += 1
            self.events[calendar_id][event_id] = {
                "id": event_id,
                "status": "cancelled",
                "_seq": self.seq,
                "_gone": True,
            }

    def expire_sync_tokens(self) -> None:
        with self.lock:
            self.seq += 1
            self.min_seq = self.seq

    def list_events(self, calendar_id: str, params: dict[str, list[str]]) -> dict[str, Any]:
        def one(name: str, default: str = "") -> str:
            values = params.get(name)
            return values[-1] if values else default

        sync = one("syncToken")
        if sync and any(one(p) for p in ("timeMin", "timeMax", "q", "orderBy", "updatedMin", "iCalUID")):
            raise ApiError(400, "invalid", "Sync token cannot be used with other request restrictions.")
        max_results = min(int(one("maxResults", "250")), 2500)
        page = one("pageToken")
        time_min = one("timeMin")
        with self.lock:
            if page:
                offset_s, _, seq_s = page.partition(":")
                offset, at_seq = int(offset_s), int(seq_s)
            else:
                offset, at_seq = 0, self.seq
            since: int | None = None
            if sync:
                since = int(sync.lstrip("s"))
                if since < self.min_seq:
                    raise ApiError(410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required.")
            items = sorted(self.events.get(calendar_id, {}).values(), key=lambda e: (e["_seq"], e["id"]))
            if since is not None:
                chosen = [e for e in items if since < e["_seq"] <= at_seq]
            else:
                chosen = [
                    e
                    for e in items
                    if e["_seq"] <= at_seq
                    and e.get("status") != "cancelled"
                    and (not time_min or _end_of(e) >= time_min)
                ]
        page_items = chosen[offset : offset + max_results]
        body: dict[str, Any] = {
            "kind": "calendar#events",
            "summary": calendar_id,
            "items": [_public(e) for e in page_items],
        }
        if offset + max_results < len(chosen):
            body["nextPageToken"] = f"{offset + max_results}:{at_seq}"
        else:
            body["nextSyncToken"] = f"s{at_seq}"
        return body


def _end_of(event: dict[str, Any]) -> str:
    end = event.get("end") or event.get("start") or {}
    return str(end.get("dateTime") or end.get("date") or "9999")


def _public(event: dict[str, Any]) -> dict[str, Any]:
    if event.get("_gone"):
        return {"kind": "calendar#event", "id": event["id"], "status": "cancelled"}
    return {k: v for k, v in event.items() if not k.startswith("_")}


__all__ = ["FakeCalendar"]
