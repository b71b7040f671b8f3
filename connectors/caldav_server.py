"""The conversations kith has with a CalDAV server, for ``caldav.CaldavSource``.

One account's session over the ``caldav`` library: the login, the mapping of the library's
errors to kith's, the calendar listing, and the four ways to learn what a collection holds —
``sync-collection`` (RFC 6578) with or without a token, the ``CS:getctag`` of the collection, a
Depth-1 PROPFIND of every member's etag, and ``calendar-multiget`` of the changed members. What
to do with the answers (the diff against the cursor, the expansion into events) is the source's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote

from caldav.davclient import DAVClient
from caldav.elements import dav
from caldav.lib import error as dav_error
from caldav.lib.http_sync import requests as http

from kith.config.mailboxes import CaldavCalendar
from kith.connectors.base import JSON
from kith.connectors.caldav_keys import GetCTag, http_path, resource_name
from kith.errors import AuthError, ConfigError, ConfigProblem, CursorExpired, KithError, TransientError

log = logging.getLogger(__name__)


class CaldavServer:
    """One CalDAV account's session. Connects lazily; ``close()`` drops it."""

    def __init__(self, mailbox_name: str, calendar: CaldavCalendar, *, use_sync_token: bool = True) -> None:
        self.mailbox_name = mailbox_name
        self.calendar = calendar
        #: Tests turn this off to exercise the ctag + etag path against a server that has tokens.
        self.use_sync_token = use_sync_token
        #: The mailbox file, named in every problem with a setting.
        self.file = f"mailboxes.d/{mailbox_name}.toml"
        self._client: Any = None
        self._calendars: dict[str, Any] = {}
        #: Calendars whose server refused a sync-collection: ctag + etags from here on.
        self.etags_only: set[str] = set()

    # -- connection -------------------------------------------------------------------------

    @contextmanager
    def errors(self, what: str) -> Iterator[None]:
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
                    mailbox=self.mailbox_name,
                    hint=f"check calendar.username and calendar.password_file (or password_command) in {self.file}",
                ) from exc
            if exc.status is None or exc.status >= 500:
                raise TransientError(f"CalDAV server error while {what}: {exc}") from exc
            raise KithError(f"CalDAV request failed while {what}: {exc}") from exc
        except http.exceptions.SSLError as exc:
            # a certificate problem does not go away by retrying: say which key decides it
            raise ConfigError(
                [ConfigProblem(self.file, "calendar.url", f"TLS verification of {self.calendar.url} failed: {exc}")],
                hint="install the server's CA, or set calendar.verify_tls = false for a server you trust",
            ) from exc
        except (http.exceptions.RequestException, OSError) as exc:
            raise TransientError(f"cannot reach CalDAV server {self.calendar.url} ({what}): {exc}") from exc

    def connect(self) -> Any:
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

    def calendars(self) -> dict[str, tuple[Any, str]]:
        """Every calendar of the account: URL → (the library's calendar, its display name)."""
        client = self.connect()
        with self.errors("listing calendars"):
            found = client.principal().calendars()
            # the listing already carried the display names: this reads them from its cache
            out = {str(c.url): (c, c.get_display_name() or "") for c in found}
        self._calendars.update((url, cal) for url, (cal, _title) in out.items())
        return out

    def calendar_at(self, url: str) -> Any:
        """The calendar at ``url`` (from the last listing, else built from the URL)."""
        cal = self._calendars.get(url)
        if cal is None:
            cal = self.connect().calendar(url=url)
            self._calendars[url] = cal
        return cal

    # -- server conversations ---------------------------------------------------------------

    def sync_collection(self, cal: Any, token: str | None, what: str) -> Any:
        """``sync-collection`` from ``token``, or ``NoSyncCollection`` when the server will not
        answer it for this calendar (see the module docstring); an expired token stays
        ``CursorExpired``, and the calendar goes on by ctag + etags either way."""
        try:
            return cal.objects_by_sync_token(sync_token=token, load_objects=False, disable_fallback=True)
        except dav_error.DAVError as exc:
            token_refused = str(dav.ValidSyncToken.tag) in exc.preconditions
            if not token_refused and exc.status not in (403, 501, 507):
                with self.errors(what):
                    raise
            self.etags_only.add(str(cal.url))
            log.info("%s: sync-collection refused (%s); using ctag and etags", cal.url, exc.status)
            if token_refused and token:
                raise CursorExpired(f"the CalDAV server refused our sync-token ({what})") from exc
            raise NoSyncCollection from exc

    def list_all(self, cal: Any) -> Listing:
        """Every member with its etag, plus the position to continue from next time."""
        if self.use_sync_token and str(cal.url) not in self.etags_only:
            try:
                with self.errors("listing the calendar"):
                    result = self.sync_collection(cal, None, "listing the calendar")
            except NoSyncCollection:
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
                return Listing(etags, token=str(result.sync_token))
        ctag = self.ctag(cal)
        return Listing(self.etags(cal), ctag=ctag)

    def changes_since_token(self, cal: Any, token: str) -> tuple[dict[str, str | None], set[str], str]:
        try:
            with self.errors("asking for changes"):
                result = self.sync_collection(cal, token, "asking for changes")
        except NoSyncCollection as exc:
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

    def changes_by_etag(self, cal: Any, cursor: JSON) -> tuple[dict[str, str | None], set[str], JSON]:
        old: dict[str, str] = cursor.get("etags") or {}
        ctag = self.ctag(cal)
        if ctag is not None and ctag == cursor.get("ctag"):
            return {}, set(), {"ctag": ctag, "etags": old}
        etags = self.etags(cal)
        changed = {name: tag for name, tag in etags.items() if tag is None or old.get(name) != tag}
        gone = set(old) - set(etags)
        return changed, gone, {"ctag": ctag, "etags": etags}

    def ctag(self, cal: Any) -> str | None:
        with self.errors("reading the calendar's ctag"):
            props = cal.get_properties([GetCTag()])
        value = props.get(GetCTag.tag)
        return str(value) if value else None

    def etags(self, cal: Any) -> dict[str, str | None]:
        with self.errors("listing the calendar's etags"):
            response = self.connect().propfind(str(cal.url), props=[dav.GetEtag.tag], depth=1)
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

    def fetch(self, cal: Any, names: Iterable[str]) -> dict[str, bytes]:
        """``calendar-multiget`` of the named members: one request for the whole chunk."""
        urls = [cal.url.join(name) for name in names]
        with self.errors("downloading events"):
            results = cal._multiget(urls)  # (href, data, props); a 404 member comes back without data
        path = cal.url.path
        out: dict[str, bytes] = {}
        for href, data, _props in results:
            if data:
                out[resource_name(path, str(href))] = data.encode() if isinstance(data, str) else data
        return out


class NoSyncCollection(Exception):
    """The server will not answer ``sync-collection`` for this calendar (internal)."""


class Listing:
    def __init__(self, etags: dict[str, str | None], *, token: str | None = None, ctag: str | None = None) -> None:
        self.etags = etags
        self.token = token
        self.ctag = ctag

    def cursor_part(self) -> JSON:
        if self.token:
            return {"token": self.token}
        return {"ctag": self.ctag, "etags": self.etags}


__all__ = ["CaldavServer", "Listing", "NoSyncCollection"]
