"""The state behind the fake Graph calendar: events and ``calendarView/delta``.

As documented for ``GET /me/calendarView/delta?startDateTime=..&endDateTime=..``: the first
round lists every event (occurrences of series expanded) overlapping the window, paged by
``Prefer: odata.maxpagesize``; the window lives in the tokens, so the nextLink/deltaLink carry no
``startDateTime``. A later round lists events changed since (cancelled ones with
``isCancelled: true``) and ``@removed`` for deleted ones. Times are given in UTC as
``{"dateTime": "...0000000", "timeZone": "UTC"}``; expired tokens answer 410 ``syncStateNotFound``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.fakes.graph.mailbox import GraphError, delta_page, email_address, given_token

_PARTSTAT = {"ACCEPTED": "accepted", "DECLINED": "declined", "TENTATIVE": "tentativelyAccepted"}


def _dtz(when: datetime) -> dict[str, str]:
    return {"dateTime": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": "UTC"}


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


@dataclass
class FakeEvent:
    id: str
    start: datetime
    end: datetime
    body: dict[str, Any]
    seq: int = 0


@dataclass
class FakeCalendar:
    email: str = "me@example.com"
    events: dict[str, FakeEvent] = field(default_factory=dict)
    tombstones: list[tuple[int, str]] = field(default_factory=list)
    seq: int = 1
    min_seq: int = 0
    lock: threading.RLock = field(default_factory=threading.RLock)

    def _bump(self) -> int:
        self.seq += 1
        return self.seq

    def put(
        self,
        event_id: str,
        *,
        start: datetime,
        minutes: int = 30,
        subject: str = "Meeting",
        organizer: tuple[str, str] | None = None,
        attendees: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
        my_response: str = "accepted",
        cancelled: bool = False,
        uid: str | None = None,
        series: tuple[str, datetime] | None = None,
    ) -> None:
        """Insert or replace an event; ``attendees`` are (address, name, response)."""
        with self.lock:
            org = organizer or (self.email, "Me")
            body: dict[str, Any] = {
                "iCalUId": uid or f"{event_id}@fake.graph",
                "subject": subject,
                "isAllDay": False,
                "isCancelled": cancelled,
                "isOrganizer": org[0] == self.email,
                "showAs": "busy",
                "type": "occurrence" if series else "singleInstance",
                "organizer": email_address(*org),
                "responseStatus": {"response": "organizer" if org[0] == self.email else my_response},
                "attendees": [
                    {
                        "type": "required",
                        "status": {"response": resp, "time": "0001-01-01T00:00:00Z"},
                        **email_address(a, n),
                    }
                    for a, n, resp in attendees
                ],
                "start": _dtz(start),
                "end": _dtz(start + timedelta(minutes=minutes)),
                "bodyPreview": "",
            }
            if series:
                body["seriesMasterId"] = series[0]
                body["originalStart"] = series[1].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            self.events[event_id] = FakeEvent(event_id, start, start + timedelta(minutes=minutes), body, self._bump())

    def cancel(self, event_id: str) -> None:
        with self.lock:
            ev = self.events[event_id]
            ev.body["isCancelled"] = True
            ev.seq = self._bump()

    def delete(self, event_id: str) -> None:
        with self.lock:
            del self.events[event_id]
            self.tombstones.append((self._bump(), event_id))

    def expire_tokens(self) -> None:
        with self.lock:
            self.min_seq = self._bump()

    def load_world(self, world: Any, mailbox: str = "work") -> int:
        """A ``kith.sample`` World's meetings; weekly series become expanded occurrences."""
        n = 0
        me = world.me[mailbox].address
        for m in world.meetings.get(mailbox, []):
            others = [(p.address, p.name, "accepted") for p in m.attendees if p.address != me]
            mine = _PARTSTAT.get(m.my_partstat, "none")
            count = max(1, m.weekly_count)
            for k in range(count):
                start = m.start + timedelta(weeks=k)
                eid = f"{m.uid}-{k}" if m.weekly_count else m.uid
                self.put(
                    eid,
                    start=start,
                    minutes=m.minutes,
                    subject=m.summary,
                    organizer=(m.organizer.address, m.organizer.name),
                    attendees=[(me, "Me", mine), *others],
                    my_response=mine,
                    cancelled=m.cancelled,
                    uid=m.uid,
                    series=(m.uid, start) if m.weekly_count else None,
                )
                n += 1
        return n

    def delta(self, params: dict[str, str], page_size: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        with self.lock:
            tok = given_token(params)
            if tok is None:
                if not params.get("startDateTime") or not params.get("endDateTime"):
                    raise GraphError(400, "ErrorInvalidParameter", "startDateTime and endDateTime are required")
                tok = {"k": "list", "w": [params["startDateTime"], params["endDateTime"]], "at": self.seq, "after": ""}
            lo, hi = (_parse(x) for x in tok["w"])

            def inside(ev: FakeEvent) -> bool:
                return ev.end > lo and ev.start < hi

            def changes(since: int, at: int) -> list[tuple[int, str, Any]]:
                live = [(e.seq, e.id, e) for e in self.events.values() if since < e.seq <= at and inside(e)]
                return live + [(s, eid, None) for s, eid in self.tombstones if since < s <= at]

            return delta_page(
                tok,
                page_size,
                seq=self.seq,
                min_seq=self.min_seq,
                scope={"w": tok["w"]},
                listing=lambda: (e for e in self.events.values() if inside(e)),
                changes=changes,
                view=lambda e: {"id": e.id, **e.body},
            )


__all__ = ["FakeCalendar", "FakeEvent"]
