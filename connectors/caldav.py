"""CalDAV calendars (``[calendar] kind = "caldav"``) through the ``caldav`` library.

Every calendar collection is one stream, named by its URL. A pull asks the server what changed
and downloads only that:

- **sync-token** (RFC 6578 ``sync-collection``) where the server has it: the server lists the
  members changed or removed since our token. An expired token is answered with 403
  ``DAV:valid-sync-token``; that becomes ``CursorExpired`` and the engine resyncs the stream,
  by ctag + etags: SabreDAV servers (Nextcloud, Baikal) refuse tokens they handed out
  themselves, and a resync by token would loop forever. A server that will not answer
  sync-collection at all for a login that works (a bare 403, 501, or 507 Insufficient Storage,
  RFC 6578 §3.6) is used by ctag + etags too, never retried or reported as a password problem.
- **ctag + etags** otherwise: one Depth-0 PROPFIND of the collection's ``CS:getctag`` tells
  whether anything changed at all; if it did, a Depth-1 PROPFIND of every member's etag is
  diffed against the etags kept in the cursor.

Changed members are fetched with ``calendar-multiget`` and expanded with the ``.ics`` source's
functions (``kith.connectors.ics``): one ``EventRecord`` per occurrence inside the window, keyed
``<resource>#<UID>|<RECURRENCE-ID>`` so every key of one resource shares the ``<resource>#``
prefix. A deleted resource therefore becomes the deletion of every stored key with its prefix,
found through ``known()``; the store's version of a key is the digest of its record, so a
resync rewrites nothing that did not change.

The window moves every day, so once a day the resources holding recurring events are fetched
again to add the occurrences that entered the window. Occurrences that slide out of the *past*
end of the window are kept: they are meetings that happened, which the analysis needs.

The requests themselves (login, errors, listing, sync-collection, ctag, etags, multiget) are
``caldav_server.CaldavServer``'s; this module decides what to ask and turns answers into batches.

Invitations that arrive by mail as iMIP ``text/calendar`` parts are not read from there: kith
downloads mail headers only. A CalDAV server that processes scheduling puts them in the calendar.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

from kith.config.mailboxes import CaldavCalendar, MailboxBase
from kith.connectors.base import (
    JSON,
    BaseSource,
    Batch,
    CheckReport,
    Connector,
    EventRecord,
    Known,
    Problem,
    Role,
    Stream,
    no_known,
)
from kith.connectors.caldav_keys import (
    KEY_SEP,
    GetCTag,
    broken_events,
    key_occurrence,
    key_resource,
    looks_recurring,
    resource_name,
)
from kith.connectors.caldav_server import CaldavServer, NoSyncCollection
from kith.connectors.ics import event_version, expand_calendar
from kith.connectors.recurrence import Limits
from kith.errors import ConfigError, ConfigProblem, CursorExpired

log = logging.getLogger(__name__)

#: Bumped when the cursor's shape changes; an older cursor then means a full resync.
CURSOR_VERSION = 1


class CaldavSource(BaseSource):
    """The calendars of one CalDAV account. Connects lazily; ``close()`` drops the session."""

    def __init__(
        self,
        mailbox: MailboxBase,
        calendar: CaldavCalendar,
        *,
        now: datetime | None = None,
        use_sync_token: bool = True,
        batch_size: int | None = None,
    ) -> None:
        self.mailbox = mailbox
        self.calendar = calendar
        self.now = now
        self.batch_size = batch_size or mailbox.batch_size
        #: The conversations with the server (``caldav_server``); ``use_sync_token=False`` (tests)
        #: takes the ctag + etag path against a server that has tokens.
        self.server = CaldavServer(mailbox.name, calendar, use_sync_token=use_sync_token)
        me = list(mailbox.addresses)
        if calendar.username and "@" in calendar.username:
            me.append(calendar.username.lower())
        self.me = tuple(me)

    def close(self) -> None:
        self.server.close()

    # -- streams ----------------------------------------------------------------------------

    def streams(self) -> list[Stream]:
        titles = {url: title for url, (_cal, title) in self.server.calendars().items()}
        wanted = set(self.calendar.calendars)
        found: set[str] = set()
        out: list[Stream] = []
        for url in titles:
            cal_id = unquote(url.rstrip("/").rsplit("/", 1)[-1])
            names = {url, cal_id, titles[url]} & wanted if wanted else {url}
            if not names:
                continue
            found |= names
            out.append(Stream(name=url, role=Role.CALENDAR, display_name=titles[url] or cal_id))
        missing = sorted(wanted - found)
        if missing:
            raise ConfigError(
                [
                    ConfigProblem(
                        self.server.file,
                        "calendar.calendars",
                        f"no calendar named {', '.join(map(repr, missing))} on {self.calendar.url}; "
                        f"there are: {', '.join(sorted(t or u for u, t in titles.items())) or 'none'}",
                    )
                ]
            )
        return out

    # -- pull -------------------------------------------------------------------------------

    def pull(self, stream: Stream, cursor: JSON | None, known: Known = no_known) -> Iterator[Batch]:
        cal = self.server.calendar_at(stream.name)
        now = self.now or datetime.now(UTC)
        window = (now - self.calendar.window_past, now + self.calendar.window_future)
        day = now.date().isoformat()
        if cursor is not None and (cursor.get("v") != CURSOR_VERSION or cursor.get("url") != stream.name):
            raise CursorExpired("calendar cursor is from another version or calendar")

        new: JSON = {"v": CURSOR_VERSION, "url": stream.name, "day": day}
        if cursor is None:
            listed = self.server.list_all(cal)
            changed, gone = dict(listed.etags), set[str]()
            new.update(listed.cursor_part())
        elif cursor.get("token"):
            changed, gone, token = self.server.changes_since_token(cal, cursor["token"])
            new["token"] = token
        else:
            changed, gone, part = self.server.changes_by_etag(cal, cursor)
            new.update(part)

        recurring = set(cursor.get("recurring", ())) if cursor else set()
        recurring -= gone
        if cursor is not None and cursor.get("day") != day:
            # the window moved: expand recurring series again even though they did not change
            changed.update((name, None) for name in recurring if name not in changed)

        if cursor is not None and not changed and not gone:
            new["recurring"] = sorted(recurring)
            if new != cursor:
                yield Batch(cursor=new)
            return

        have = known()
        by_resource: dict[str, list[str]] = {}
        for key in have:
            by_resource.setdefault(key_resource(key), []).append(key)
        if cursor is None:
            # a full sync: whatever the store holds that the server no longer lists is gone
            gone = set(by_resource) - set(changed)
        deletions = [k for name in sorted(gone) for k in by_resource.get(name, ())]

        names = sorted(changed)
        chunks = [names[i : i + self.batch_size] for i in range(0, len(names), self.batch_size)] or [[]]
        for n, chunk in enumerate(chunks):
            upserts: list[EventRecord] = []
            problems: list[Problem] = []
            versions: dict[str, str] = {}
            fetched = self.server.fetch(cal, chunk) if chunk else {}
            for name in chunk:
                data = fetched.get(name)
                old = by_resource.get(name, [])
                if data is None:
                    # listed as changed but gone by the time we asked: a deletion
                    deletions += old
                    recurring.discard(name)
                    continue
                (recurring.add if looks_recurring(data) else recurring.discard)(name)
                try:
                    recs, probs = expand_calendar(
                        data, window, self.me, key_prefix=name + KEY_SEP, limits=Limits.of(self.calendar)
                    )
                    probs += broken_events(data)
                except Exception as exc:  # any parser failure is this object's, not the calendar's
                    problems.append(Problem(name, f"unreadable calendar object: {type(exc).__name__}: {exc}"))
                    continue
                problems += [Problem(name + KEY_SEP + p.provider_key, p.message) for p in probs]
                produced = {r.provider_key for r in recs}
                for rec in recs:
                    version = event_version(rec)
                    if have.get(rec.provider_key) != version:
                        upserts.append(rec)
                        versions[rec.provider_key] = version
                deletions += [k for k in old if k not in produced and _still_expected(k, window)]
            last = n == len(chunks) - 1
            if last:
                new["recurring"] = sorted(recurring)
            yield Batch(
                upserts=tuple(upserts),
                deletions=tuple(deletions),
                problems=tuple(problems),
                versions=versions,
                # intermediate batches keep the stored cursor: a crash re-pulls the same changes
                cursor=new if last else None,
            )
            deletions = []

    def describe(self, stream: Stream) -> tuple[int, bool]:
        """For ``kith check``: how many objects the calendar holds, and whether the server answers
        an initial ``sync-collection`` for it (else kith uses ctag + etags)."""
        cal = self.server.calendar_at(stream.name)
        count = len(self.server.etags(cal))
        if not self.server.use_sync_token:
            return count, False
        try:
            with self.server.errors("asking for a sync-token"):
                return count, bool(self.server.sync_collection(cal, None, "asking for a sync-token").sync_token)
        except NoSyncCollection:
            return count, False

    def check(self) -> CheckReport:
        """``kith check``: login, the calendars found, and whether sync-token works (read-only)."""
        from kith.connectors.caldav_check import check

        return check(self)


def _still_expected(key: str, window: tuple[datetime, datetime]) -> bool:
    """Whether a stored occurrence that the new expansion lacks is really gone.

    A single event (no occurrence in its key) or an occurrence inside or after the window would
    have been produced again: it was removed. One before the window only slid out of it: kept.
    """
    occ = key_occurrence(key)
    return occ is None or occ >= window[0]


def make_calendar_source(mailbox: MailboxBase, *, state_dir: Path) -> CaldavSource:
    """The registry's entry point; ``state_dir`` is unused (the cursor lives in the store)."""
    assert isinstance(mailbox.calendar, CaldavCalendar)
    return CaldavSource(mailbox, mailbox.calendar)


#: What the CalDAV connector can do: read a calendar collection (a password, no sending).
CONNECTOR = Connector(make_calendar_source=make_calendar_source)


__all__ = ["CONNECTOR", "CaldavSource", "GetCTag", "make_calendar_source", "resource_name"]
