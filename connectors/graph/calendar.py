"""Outlook calendar through Graph: one stream, ``calendarView/delta`` over a window around now.

``calendarView`` expands recurring series into occurrences inside ``startDateTime`` ..
``endDateTime`` (default one year back, 90 days ahead, ``window_past``/``window_future``), which
is what the analysis wants: every meeting that happened or will. Its delta works like the mail
delta (``delta.delta_batches``): pages linked by nextLink, a deltaLink at the end, ``@removed``
for events deleted or moved out of the window. A cancelled meeting that is still on the calendar
comes with ``isCancelled: true`` and becomes a record with ``cancelled=True`` (it tells the
analysis a meeting did *not* happen); 410 / ``syncStateNotFound`` is ``CursorExpired``.

calendarView delta accepts no ``$select``, so times are asked for in UTC with
``Prefer: outlook.timezone="UTC"``. The window is fixed when the delta round starts; once the
stored window has slid more than ``REWINDOW`` behind, the cursor is declared expired so that a
fresh round uses the current window (and drops what fell out of it).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from kith.config.mailboxes import GraphCalendar, GraphMailbox
from kith.connectors.base import JSON, Batch, CheckReport, EventRecord, Known, Problem, Role, Stream, no_known
from kith.connectors.graph.client import RetryPolicy, TokenProvider
from kith.connectors.graph.delta import delta_batches, start_url
from kith.connectors.graph.mail import IMMUTABLE, GraphSource
from kith.connectors.graph.records import event_record, parse_time, window_bounds
from kith.errors import BadRecord, ConfigError, CursorExpired

log = logging.getLogger(__name__)

STREAM = Stream(name="graph:calendar", role=Role.CALENDAR, display_name="Outlook calendar")
#: How far the window may slide before a fresh delta round is started.
REWINDOW = timedelta(days=30)


class GraphCalendarSource(GraphSource):
    def __init__(
        self,
        mailbox: GraphMailbox,
        *,
        state_dir: Path,
        token: TokenProvider | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        now: datetime | None = None,
    ) -> None:
        if not isinstance(mailbox.calendar, GraphCalendar):
            raise ConfigError(f'{mailbox.name}: [calendar] kind must be "graph" for an Outlook calendar source')
        self.calendar = mailbox.calendar
        super().__init__(mailbox, state_dir=state_dir, token=token, retry=retry, transport=transport)
        self.now = now

    def streams(self) -> list[Stream]:
        return [STREAM]

    def _now(self) -> datetime:
        return self.now or datetime.now(UTC)

    def first_url(self) -> str:
        start, end = window_bounds(self._now(), self.calendar.window_past, self.calendar.window_future)
        return f"{self.base}/calendarView/delta?startDateTime={start}&endDateTime={end}"

    def pull(self, stream: Stream, cursor: JSON | None, known: Known = no_known) -> Iterator[Batch]:
        if stream.name != STREAM.name:
            raise CursorExpired(f"Graph calendar stream {stream.name!r} no longer exists")
        window = cursor.get("window_start") if cursor else None
        if cursor is not None and "delta" in cursor:
            try:
                since = parse_time(window)
            except ValueError:
                since = None
            if since is None or self._now() - self.calendar.window_past - since > REWINDOW:
                raise CursorExpired("the calendar window has moved on; starting a fresh delta round")
        url, gen = start_url(cursor, self.first_url)
        if cursor is None:
            window = url.split("startDateTime=", 1)[1].split("&", 1)[0]

        def convert(live: dict[str, Mapping[str, Any]]) -> tuple[list[EventRecord], list[str], list[Problem]]:
            records: list[EventRecord] = []
            problems: list[Problem] = []
            for eid, item in live.items():
                if item.get("type") == "seriesMaster":
                    continue  # calendarView lists the occurrences themselves
                try:
                    records.append(event_record(item, self.mailbox.addresses))
                except BadRecord as exc:
                    problems.append(Problem(eid, str(exc)))
            return records, [], problems

        prefer = {"Prefer": f'odata.maxpagesize={self.mailbox.page_size}, outlook.timezone="UTC", {IMMUTABLE}'}
        yield from delta_batches(
            self.client,
            url,
            gen,
            known,
            convert,
            headers=prefer,
            what=f"{self.mailbox.name}/calendar",
            extra={"window_start": window} if window else None,
            stats=self.stats,
        )

    def check(self) -> CheckReport:
        """``kith check``: account, granted permissions, folders and the first sync's size (read-only)."""
        from kith.connectors.graph.check import check_calendar

        return check_calendar(self)


__all__ = ["REWINDOW", "STREAM", "GraphCalendarSource"]
