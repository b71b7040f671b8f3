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

Invitations that arrive by mail as iMIP ``text/calendar`` parts are not read from there: kith
downloads mail headers only. A CalDAV server that processes scheduling puts them in the calendar.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from caldav.davclient import DAVClient
from caldav.elements import dav
from caldav.lib import error as dav_error
from caldav.lib.http_sync import requests as http

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
    http_path,
    key_occurrence,
    key_resource,
    looks_recurring,
    resource_name,
)
from kith.connectors.ics import event_version, expand_calendar
from kith.connectors.recurrence import Limits
from kith.errors import AuthError, ConfigError, ConfigProblem, CursorExpired, KithError, TransientError

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
        #: Tests turn this off to exercise the ctag + etag path against a server that has tokens.
        self.use_sync_token = use_sync_token
        self.batch_size = batch_size or mailbox.batch_size
        self._client: Any = None
        self._calendars: dict[str, Any] = {}
        #: Calendars whose server refused a sync-collection: ctag + etags from here on.
        self.etags_only: set[str] = set()
        me = list(mailbox.addresses)
        if calendar.username and "@" in calendar.username:
            me.append(calendar.username.lower())
        self.me = tuple(me)

    # -- connection -------------------------------------------------------------------------

    @property
    def _file(self) -> str:
        return f"mailboxes.d/{self.mailbox.name}.toml"

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        """Turn the library's exceptions into kith's, so the engine knows what to do with them."""
        try:
            yield
        except dav_error.RateLimitError as exc:
            raise TransientError(f"CalDAV server is throttling ({what})", retry_after=exc.retry_after_seconds) from exc
        except dav_error.DAVError as exc:
            if str(dav.ValidSyncToken.tag) in exc.preconditions:
                raise CursorExpired(f"the CalDAV server no longer knows our sync-token ({what})") from exc
            if str(dav.SupportedReport.tag) in exc.preconditions:
                # a 403 that means "no such REPORT here" (Zimbra), not "wrong password"
                raise KithError(f"the CalDAV server does not support this request ({what})") from exc
            if isinstance(exc, dav_error.AuthorizationError) or exc.status in (401, 403):
                raise AuthError(
                    f"CalDAV server {self.calendar.url} refused user {self.calendar.username!r} "
                    f"({exc.status or 'unauthorized'}) while {what}",
                    mailbox=self.mailbox.name,
                    hint=f"check calendar.username and calendar.password_file (or password_command) in {self._file}",
                ) from exc
            if exc.status is None or exc.status >= 500:
                raise TransientError(f"CalDAV server error while {what}: {exc}") from exc
            raise KithError(f"CalDAV request failed while {what}: {exc}") from exc
        except http.exceptions.SSLError as exc:
            # a certificate problem does not go away by retrying: say which key decides it
            raise ConfigError(
                [ConfigProblem(self._file, "calendar.url", f"TLS verification of {self.calendar.url} failed: {exc}")],
                hint="install the server's CA, or set calendar.verify_tls = false for a server you trust",
            ) from exc
        except (http.exceptions.RequestException, OSError) as exc:
            raise TransientError(f"cannot reach CalDAV server {self.calendar.url} ({what}): {exc}") from exc

    def _connect(self) -> Any:
        if self._client is None:
            ref = self.calendar.password
            password = None if ref.empty else ref.resolve()
            self._client = DAVClient(
                url=self.calendar.url,
                username=self.calendar.username,
                password=password,
                timeout=self.calendar.timeout.total_seconds(),  # type: ignore[arg-type]
                ssl_verify_cert=self.calendar.verify_tls,
                # the engine retries TransientError with backoff and honours Retry-After itself
                rate_limit_handle=False,
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            finally:
                self._client = None
                self._calendars.clear()

    # -- streams ----------------------------------------------------------------------------

    def streams(self) -> list[Stream]:
        client = self._connect()
        with self._errors("listing calendars"):
            calendars = client.principal().calendars()
            # the listing already carried the display names: this reads them from its cache
            titles = {str(c.url): c.get_display_name() or "" for c in calendars}
        wanted = set(self.calendar.calendars)
        found: set[str] = set()
        out: list[Stream] = []
        for cal in calendars:
            url = str(cal.url)
            cal_id = unquote(url.rstrip("/").rsplit("/", 1)[-1])
            names = {url, cal_id, titles[url]} & wanted if wanted else {url}
            if not names:
                continue
            found |= names
            self._calendars[url] = cal
            out.append(Stream(name=url, role=Role.CALENDAR, display_name=titles[url] or cal_id))
        missing = sorted(wanted - found)
        if missing:
            raise ConfigError(
                [
                    ConfigProblem(
                        self._file,
                        "calendar.calendars",
                        f"no calendar named {', '.join(map(repr, missing))} on {self.calendar.url}; "
                        f"there are: {', '.join(sorted(t or u for u, t in titles.items())) or 'none'}",
                    )
                ]
            )
        return out

    def _calendar(self, stream: Stream) -> Any:
        cal = self._calendars.get(stream.name)
        if cal is None:
            cal = self._connect().calendar(url=stream.name)
            self._calendars[stream.name] = cal
        return cal

    # -- pull -------------------------------------------------------------------------------

    def pull(self, stream: Stream, cursor: JSON | None, known: Known = no_known) -> Iterator[Batch]:
        cal = self._calendar(stream)
        now = self.now or datetime.now(UTC)
        window = (now - self.calendar.window_past, now + self.calendar.window_future)
        day = now.date().isoformat()
        if cursor is not None and (cursor.get("v") != CURSOR_VERSION or cursor.get("url") != stream.name):
            raise CursorExpired("calendar cursor is from another version or calendar")

        new: JSON = {"v": CURSOR_VERSION, "url": stream.name, "day": day}
        if cursor is None:
            listed = self._list_all(cal)
            changed, gone = dict(listed.etags), set[str]()
            new.update(listed.cursor_part())
        elif cursor.get("token"):
            changed, gone, token = self._changes_since_token(cal, cursor["token"])
            new["token"] = token
        else:
            changed, gone, part = self._changes_by_etag(cal, cursor)
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
            fetched = self._fetch(cal, chunk) if chunk else {}
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

    # -- server conversations ---------------------------------------------------------------

    def _report(self, cal: Any, token: str | None, what: str) -> Any:
        """``sync-collection`` from ``token``, or ``_NoSyncCollection`` when the server will not
        answer it for this calendar (see the module docstring); an expired token stays
        ``CursorExpired``, and the calendar goes on by ctag + etags either way."""
        try:
            return cal.objects_by_sync_token(sync_token=token, load_objects=False, disable_fallback=True)
        except dav_error.DAVError as exc:
            token_refused = str(dav.ValidSyncToken.tag) in exc.preconditions
            if not token_refused and exc.status not in (403, 501, 507):
                with self._errors(what):
                    raise
            self.etags_only.add(str(cal.url))
            log.info("%s: sync-collection refused (%s); using ctag and etags", cal.url, exc.status)
            if token_refused and token:
                raise CursorExpired(f"the CalDAV server refused our sync-token ({what})") from exc
            raise _NoSyncCollection from exc

    def describe(self, stream: Stream) -> tuple[int, bool]:
        """For ``kith check``: how many objects the calendar holds, and whether the server answers
        an initial ``sync-collection`` for it (else kith uses ctag + etags)."""
        cal = self._calendar(stream)
        count = len(self._etags(cal))
        if not self.use_sync_token:
            return count, False
        try:
            with self._errors("asking for a sync-token"):
                return count, bool(self._report(cal, None, "asking for a sync-token").sync_token)
        except _NoSyncCollection:
            return count, False

    def check(self) -> CheckReport:
        """``kith check``: login, the calendars found, and whether sync-token works (read-only)."""
        from kith.connectors.caldav_check import check

        return check(self)

    def _list_all(self, cal: Any) -> _Listing:
        """Every member with its etag, plus the position to continue from next time."""
        if self.use_sync_token and str(cal.url) not in self.etags_only:
            try:
                with self._errors("listing the calendar"):
                    result = self._report(cal, None, "listing the calendar")
            except _NoSyncCollection:
                result = None
            except KithError as exc:
                if type(exc) is not KithError:  # auth, network, TLS: the fallback would fail alike
                    raise
                log.info("%s: no sync-collection support (%s); using ctag and etags", cal.url, exc)
                result = None
            if result is not None and result.sync_token:
                path = cal.url.path
                etags = {
                    resource_name(path, str(o.url)): o.props.get(dav.GetEtag.tag)
                    for o in result
                    if o.url.canonical() not in result.deleted_urls
                }
                return _Listing(etags, token=str(result.sync_token))
        ctag = self._ctag(cal)
        return _Listing(self._etags(cal), ctag=ctag)

    def _changes_since_token(self, cal: Any, token: str) -> tuple[dict[str, str | None], set[str], str]:
        try:
            with self._errors("asking for changes"):
                result = self._report(cal, token, "asking for changes")
        except _NoSyncCollection as exc:
            # no old etags to compare with: list everything again, by etags (nothing unchanged is rewritten)
            raise CursorExpired("the CalDAV server no longer answers sync-collection") from exc
        path = cal.url.path
        deleted = {o.canonical() for o in result.deleted_urls}
        changed: dict[str, str | None] = {}
        gone: set[str] = set()
        for obj in result:
            name = resource_name(path, str(obj.url))
            if obj.url.canonical() in deleted:
                gone.add(name)
            else:
                changed[name] = obj.props.get(dav.GetEtag.tag)
        if not result.sync_token:
            raise CursorExpired("the CalDAV server answered without a new sync-token")
        return changed, gone, str(result.sync_token)

    def _changes_by_etag(self, cal: Any, cursor: JSON) -> tuple[dict[str, str | None], set[str], JSON]:
        old: dict[str, str] = cursor.get("etags") or {}
        ctag = self._ctag(cal)
        if ctag is not None and ctag == cursor.get("ctag"):
            return {}, set(), {"ctag": ctag, "etags": old}
        etags = self._etags(cal)
        changed = {name: tag for name, tag in etags.items() if tag is None or old.get(name) != tag}
        gone = set(old) - set(etags)
        return changed, gone, {"ctag": ctag, "etags": etags}

    def _ctag(self, cal: Any) -> str | None:
        with self._errors("reading the calendar's ctag"):
            props = cal.get_properties([GetCTag()])
        value = props.get(GetCTag.tag)
        return str(value) if value else None

    def _etags(self, cal: Any) -> dict[str, str | None]:
        with self._errors("listing the calendar's etags"):
            response = self._connect().propfind(str(cal.url), props=[dav.GetEtag.tag], depth=1)
            if response.status not in (200, 207):
                raise dav_error.PropfindError(
                    str(cal.url), f"{response.status} {response.reason}", status=response.status
                )
            props = response.expand_simple_props([dav.GetEtag()])
        path = cal.url.path
        out: dict[str, str | None] = {}
        for href, values in props.items():
            if unquote(http_path(href)).rstrip("/") == unquote(path).rstrip("/"):
                continue  # the collection itself
            out[resource_name(path, href)] = values.get(dav.GetEtag.tag)
        return out

    def _fetch(self, cal: Any, names: Iterable[str]) -> dict[str, bytes]:
        """``calendar-multiget`` of the named members: one request for the whole chunk."""
        urls = [cal.url.join(name) for name in names]
        with self._errors("downloading events"):
            results = cal._multiget(urls)  # (href, data, props); a 404 member comes back without data
        path = cal.url.path
        out: dict[str, bytes] = {}
        for href, data, _props in results:
            if data:
                out[resource_name(path, str(href))] = data.encode() if isinstance(data, str) else data
        return out


class _NoSyncCollection(Exception):
    """The server will not answer ``sync-collection`` for this calendar (internal)."""


class _Listing:
    def __init__(self, etags: dict[str, str | None], *, token: str | None = None, ctag: str | None = None) -> None:
        self.etags = etags
        self.token = token
        self.ctag = ctag

    def cursor_part(self) -> JSON:
        if self.token:
            return {"token": self.token}
        return {"ctag": self.ctag, "etags": self.etags}


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
