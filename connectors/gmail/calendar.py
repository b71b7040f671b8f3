"""Google Calendar: one stream per calendar id, ``events.list`` with sync tokens.

Following Google's "Synchronize resources efficiently" guide:

- **full sync** (``cursor=None``): ``events.list(singleEvents=true, timeMin=now - window_past)``
  page by page; recurring events arrive expanded into occurrences (``recurringEventId`` +
  ``originalStartTime`` give the RECURRENCE-ID). The last page carries ``nextSyncToken``. Events
  the store holds that were not listed are deleted, so a resync after expiry is exact, and events
  whose etag the store already has are not upserted again.
- **incremental** (``{"sync_token": …}``): ``events.list(syncToken=…)`` returns every changed
  event since, deleted ones as ``{"id", "status": "cancelled"}`` (→ deletion) and cancelled
  occurrences with their times (→ a record with ``cancelled=True``). A long change list is paged;
  the cursor between pages keeps the page token, so a crash resumes mid-way.
- **410 Gone** (``fullSyncRequired``): ``CursorExpired``; the engine runs the full sync again.

Occurrences starting after ``now + window_future`` are left out (an endless daily series would
otherwise grow without bound), and leave the store if they were there.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kith.config.mailboxes import GmailMailbox, GoogleCalendar
from kith.connectors.base import (
    JSON,
    BaseSource,
    Batch,
    CheckReport,
    EventRecord,
    Known,
    Problem,
    Role,
    Stream,
    no_known,
)
from kith.connectors.gmail.auth import TokenKeeper, load_credentials
from kith.connectors.gmail.client import CALENDAR_ENDPOINT, GoogleClient, RetryPolicy
from kith.connectors.gmail.records import event_record
from kith.errors import BadRecord, ConfigError, CursorExpired

log = logging.getLogger(__name__)
PREFIX = "google:"


class GoogleCalendarSource(BaseSource):
    def __init__(
        self,
        mailbox: GmailMailbox,
        *,
        state_dir: Path,
        credentials: Any = None,
        retry: RetryPolicy | None = None,
        now: datetime | None = None,
    ) -> None:
        if not isinstance(mailbox.calendar, GoogleCalendar):
            raise ConfigError(f'{mailbox.name}: [calendar] kind must be "google" for a Google calendar source')
        self.mailbox = mailbox
        self.calendar = mailbox.calendar
        token_file: Path | None = None
        if credentials is None:
            credentials, token_file = load_credentials(mailbox, state_dir)
        self.tokens = TokenKeeper(credentials, token_file)
        self.client = GoogleClient(credentials, mailbox=mailbox.name, retry=retry, consented=self.tokens.consented)
        self.endpoint = self.calendar.api_endpoint or CALENDAR_ENDPOINT
        self.now = now
        self._events: Any = None

    @property
    def events(self) -> Any:
        if self._events is None:
            self._events = self.client.service("calendar", "v3", self.endpoint).events()
        return self._events

    def streams(self) -> list[Stream]:
        return [
            Stream(name=f"{PREFIX}{cid}", role=Role.CALENDAR, display_name=cid) for cid in self.calendar.calendar_ids
        ]

    def pull(self, stream: Stream, cursor: JSON | None, known: Known = no_known) -> Iterator[Batch]:
        calendar_id = stream.name.removeprefix(PREFIX)
        try:
            if cursor is None:
                yield from self._full(calendar_id, known)
            else:
                token = cursor.get("sync_token")
                if not isinstance(token, str) or not token:
                    raise CursorExpired("the stored calendar cursor is from another version")
                yield from self._incremental(calendar_id, token, cursor.get("page_token"))
        finally:
            self.tokens.persist()

    def _window(self) -> tuple[datetime, datetime]:
        now = self.now or datetime.now(UTC)
        return now - self.calendar.window_past, now + self.calendar.window_future

    def _convert(
        self, items: list[dict[str, Any]], horizon: datetime
    ) -> tuple[list[EventRecord], list[str], list[Problem], dict[str, str]]:
        records: list[EventRecord] = []
        deletions: list[str] = []
        problems: list[Problem] = []
        versions: dict[str, str] = {}
        for item in items:
            try:
                rec = event_record(item, self.mailbox.addresses)
            except BadRecord as exc:
                problems.append(Problem(str(item.get("id", "?")), str(exc)))
                continue
            if rec is None or rec.start > horizon:
                deletions.append(str(item["id"]))
                continue
            records.append(rec)
            if item.get("etag"):
                versions[rec.provider_key] = str(item["etag"])
        return records, deletions, problems, versions

    def _full(self, calendar_id: str, known: Known) -> Iterator[Batch]:
        since, horizon = self._window()
        have = known()
        seen: set[str] = set()
        page_token: str | None = None
        while True:
            resp = self.client.execute(
                self.events.list(
                    calendarId=calendar_id,
                    singleEvents=True,
                    showDeleted=False,
                    timeMin=since.isoformat().replace("+00:00", "Z"),
                    maxResults=min(self.mailbox.batch_size, 2500),
                    pageToken=page_token,
                ),
                expired_on=(410,),
            )
            records, deletions, problems, versions = self._convert(list(resp.get("items") or ()), horizon)
            seen.update(r.provider_key for r in records)
            changed = [
                r
                for r in records
                if versions.get(r.provider_key) is None or have.get(r.provider_key) != versions[r.provider_key]
            ]
            page_token = resp.get("nextPageToken")
            cursor: JSON | None = None
            if not page_token:
                sync_token = resp.get("nextSyncToken")
                if not sync_token:
                    raise CursorExpired("Google returned no sync token at the end of a full calendar listing")
                cursor = {"sync_token": sync_token}
                deletions += [k for k in have if k not in seen]
            yield Batch(
                upserts=tuple(changed),
                deletions=tuple(dict.fromkeys(d for d in deletions if d in have)),
                problems=tuple(problems),
                versions={r.provider_key: versions[r.provider_key] for r in changed if r.provider_key in versions},
                cursor=cursor,
            )
            if not page_token:
                return

    def _incremental(self, calendar_id: str, sync_token: str, page_token: str | None) -> Iterator[Batch]:
        _since, horizon = self._window()
        while True:
            resp = self.client.execute(
                self.events.list(calendarId=calendar_id, singleEvents=True, syncToken=sync_token, pageToken=page_token),
                expired_on=(410,),
            )
            records, deletions, problems, versions = self._convert(list(resp.get("items") or ()), horizon)
            page_token = resp.get("nextPageToken")
            new_token = resp.get("nextSyncToken") or sync_token
            cursor: JSON = (
                {"sync_token": sync_token, "page_token": page_token} if page_token else {"sync_token": new_token}
            )
            if not (records or deletions or problems) and new_token == sync_token and not page_token:
                return
            yield Batch(
                upserts=tuple(records),
                deletions=tuple(deletions),
                problems=tuple(problems),
                versions=versions,
                cursor=cursor,
            )
            if not page_token:
                return

    def check(self) -> CheckReport:
        """``kith check``: the account, granted scopes and what a first sync costs (read-only)."""
        from kith.connectors.gmail.check import check_calendar

        try:
            return check_calendar(self)
        finally:
            self.tokens.persist()

    def close(self) -> None:
        self.tokens.persist()
        self.client.close()


__all__ = ["PREFIX", "GoogleCalendarSource"]
