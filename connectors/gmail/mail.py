"""Gmail mail as one stream: a full listing once, then the user's change history.

**One stream, not one per label.** Gmail keeps a single change history per *user*, not per
label, so one ``historyId`` cursor covers everything; a message carries many labels at once, and
moving it between "folders" is a label change that costs a ``FlagUpdate``, not a delete plus a
re-fetch in another stream; and a poll with nothing new is exactly one ``history.list`` call
instead of one per label. The stream holds all mail except SPAM, TRASH and DRAFT (role
``all``); INBOX, SENT, IMPORTANT and the CATEGORY_* labels are in each record's ``labels``.

**Initial sync** (``cursor=None``):

1. ``getProfile`` captures the mailbox's current ``historyId`` H *before* listing;
2. ``messages.list`` pages (≤ 500 ids, newest first) and each page's metadata comes back in
   batch requests of ≤ 100 ``messages.get(format=metadata, metadataHeaders=...)``;
3. each page is one ``Batch`` whose cursor is ``{"history_id": H, "page_token": next}``, so a
   crash resumes the listing at the next page; the last page's cursor is ``{"history_id": H}``;
4. the history since H is replayed at once: whatever changed while listing (a message deleted
   after its page was read, one added on a page already passed) is caught up, idempotently.

A full listing that started from scratch in this pull also deletes what the store holds but
Gmail no longer lists (``known``): that is what makes a resync after an expired history exact.

**Incremental** (``{"history_id": H}``): ``history.list(startHistoryId=H)`` with the four
history types, page by page, each page one ``Batch``; new messages are fetched in batches as
above. No change costs one request. A 404 means H is older than Gmail keeps (about a week, less
on busy mailboxes): ``CursorExpired``, and the engine runs the full sync again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from kith.config.mailboxes import GmailMailbox
from kith.connectors.base import (
    JSON,
    BaseSource,
    Batch,
    CheckReport,
    FlagUpdate,
    Known,
    MessageRecord,
    Problem,
    Role,
    Stream,
    no_known,
)
from kith.connectors.gmail.auth import TokenKeeper, load_credentials
from kith.connectors.gmail.client import GMAIL_ENDPOINT, GoogleClient, QuotaBudget, RetryPolicy, endpoint_join
from kith.connectors.gmail.history import fold
from kith.connectors.gmail.records import METADATA_HEADERS, excluded, flags_from_labels, message_record
from kith.errors import BadRecord, CursorExpired, TransientError

log = logging.getLogger(__name__)

#: Quota units per call (Gmail API usage limits).
UNITS = {"getProfile": 1, "messages.list": 5, "messages.get": 5, "history.list": 2}
#: History pages in a row without ``history`` that kith follows before trying again later.
MAX_EMPTY_PAGES = 100
HISTORY_TYPES = ["messageAdded", "messageDeleted", "labelAdded", "labelRemoved"]
STREAM = Stream(name="ALL", role=Role.ALL, display_name="All Mail (without Spam, Trash, Drafts)")


class GmailSource(BaseSource):
    def __init__(
        self,
        mailbox: GmailMailbox,
        *,
        state_dir: Path,
        credentials: Any = None,
        retry: RetryPolicy | None = None,
        budget: QuotaBudget | None = None,
    ) -> None:
        self.mailbox = mailbox
        token_file: Path | None = None
        if credentials is None:
            credentials, token_file = load_credentials(mailbox, state_dir)
        self.tokens = TokenKeeper(credentials, token_file)
        self.client = GoogleClient(
            credentials,
            mailbox=mailbox.name,
            retry=retry,
            budget=budget or QuotaBudget(mailbox.quota_units_per_second),
            consented=self.tokens.consented,
        )
        self.endpoint = mailbox.api_endpoint or GMAIL_ENDPOINT
        self.batch_uri = endpoint_join(self.endpoint, "batch/gmail/v1")
        self.user = mailbox.user_id
        self._api: Any = None

    @property
    def api(self) -> Any:
        if self._api is None:
            self._api = self.client.service("gmail", "v1", self.endpoint).users()
        return self._api

    def streams(self) -> list[Stream]:
        return [STREAM]

    def pull(self, stream: Stream, cursor: JSON | None, known: Known = no_known) -> Iterator[Batch]:
        if stream.name != STREAM.name:
            raise CursorExpired(f"Gmail stream {stream.name!r} no longer exists (kith syncs one stream, {STREAM.name})")
        try:
            if cursor is None:
                yield from self._full(None, None, known)
            else:
                try:
                    history_id = int(cursor["history_id"])
                except (KeyError, TypeError, ValueError):
                    raise CursorExpired("the stored Gmail cursor is from another version") from None
                if "page_token" in cursor:
                    yield from self._full(history_id, str(cursor["page_token"]), known)
                else:
                    yield from self._incremental(history_id)
        finally:
            self.tokens.persist()

    # -- initial sync ---------------------------------------------------------------------------

    def _full(self, history_id: int | None, page_token: str | None, known: Known) -> Iterator[Batch]:
        fresh = history_id is None
        if history_id is None:
            profile = self.client.execute(self.api.getProfile(userId=self.user), units=UNITS["getProfile"])
            history_id = int(profile["historyId"])
        page_size = min(self.mailbox.batch_size, 500)
        listed: set[str] = set()
        while True:
            resp = self.client.execute(
                self.api.messages().list(userId=self.user, maxResults=page_size, pageToken=page_token),
                units=UNITS["messages.list"],
                expired_on=(400,) if page_token else (),
            )
            ids = [m["id"] for m in resp.get("messages") or () if m.get("id")]
            page_token = resp.get("nextPageToken")
            records, problems, gone = self._fetch(ids)
            listed.update(r.provider_key for r in records)
            deletions = list(gone)
            if page_token is None and fresh:
                deletions += [k for k in known() if k not in listed]
            cursor: JSON = {"history_id": str(history_id)}
            if page_token:
                cursor["page_token"] = page_token
            yield Batch(
                upserts=tuple(records), deletions=tuple(dict.fromkeys(deletions)), problems=problems, cursor=cursor
            )
            if not page_token:
                break
        log.info(
            "%s: listing done (%d messages in this run); replaying history since %s",
            self.mailbox.name,
            len(listed),
            history_id,
        )
        yield from self._incremental(history_id)

    # -- incremental --------------------------------------------------------------------------

    def _incremental(self, start: int) -> Iterator[Batch]:
        page_token: str | None = None
        position = str(start)  # the history id every change up to which has been yielded
        empty = 0
        while True:
            resp = self.client.execute(
                self.api.history().list(
                    userId=self.user,
                    startHistoryId=str(start),
                    historyTypes=HISTORY_TYPES,
                    maxResults=500,
                    pageToken=page_token,
                ),
                units=UNITS["history.list"],
                expired_on=(404,),
            )
            records = [r for r in resp.get("history") or () if isinstance(r, Mapping)]
            page_token = resp.get("nextPageToken")
            latest = str(resp.get("historyId") or start)
            if records and page_token:
                position = str(records[-1].get("id") or position)
            # Gmail may answer a page with a nextPageToken and no ``history`` at all (lieer #22,
            # #24): nothing to apply, the position stays where it is, and the paging goes on
            cursor: JSON = {"history_id": latest if not page_token else position}
            if not records:
                if not page_token and int(latest) != start:
                    yield Batch(cursor=cursor)  # only untracked changes: move the cursor so it does not age out
                empty += 1
                if page_token and empty <= MAX_EMPTY_PAGES:
                    continue
                if page_token:  # a paging that never ends: try again later from the same position
                    raise TransientError(f"Gmail answered {empty} history pages in a row without history")
                return
            empty = 0
            changes = fold(records)
            fetched, problems, gone = self._fetch(changes.fetch)
            updates = tuple(
                FlagUpdate(mid, flags_from_labels(labels), labels) for mid, labels in changes.relabel.items()
            )
            deletions = tuple(dict.fromkeys([*changes.delete, *gone]))
            yield Batch(
                upserts=tuple(fetched), flag_updates=updates, deletions=deletions, problems=problems, cursor=cursor
            )
            if not page_token:
                return

    # -- metadata fetch -----------------------------------------------------------------------

    def _fetch(self, ids: list[str]) -> tuple[list[MessageRecord], tuple[Problem, ...], list[str]]:
        """Metadata of ``ids`` in batches of ≤ 100; returns records, problems, ids to drop."""
        if not ids:
            return [], (), []
        messages = self.api.messages()

        def request(mid: str) -> Any:
            return lambda: messages.get(
                userId=self.user, id=mid, format="metadata", metadataHeaders=list(METADATA_HEADERS)
            )

        outcome = self.client.execute_many(
            {mid: request(mid) for mid in dict.fromkeys(ids)}, batch_uri=self.batch_uri, units=UNITS["messages.get"]
        )
        records: list[MessageRecord] = []
        problems = [Problem(mid, f"Gmail would not return this message: {why}") for mid, why in outcome.failed.items()]
        gone = sorted(outcome.missing)
        for mid in ids:
            data = outcome.results.get(mid)
            if data is None:
                continue
            if excluded(data.get("labelIds") or ()):
                gone.append(mid)  # a draft, or trashed since it was listed
                continue
            try:
                records.append(message_record(data))
            except BadRecord as exc:
                problems.append(Problem(mid, str(exc)))
        return records, tuple(problems), gone

    def check(self) -> CheckReport:
        """``kith check``: the account, granted scopes and what a first sync costs (read-only)."""
        from kith.connectors.gmail.check import check_mail

        try:
            return check_mail(self)
        finally:
            self.tokens.persist()

    def close(self) -> None:
        self.tokens.persist()
        self.client.close()


__all__ = ["HISTORY_TYPES", "STREAM", "UNITS", "GmailSource"]
