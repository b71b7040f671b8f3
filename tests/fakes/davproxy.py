"""A small HTTP proxy in front of the real Radicale that answers ``sync-collection`` as other
CalDAV servers do. Everything else passes through unchanged, so the calendar data, etags and ctag
are Radicale's own.

``refuse`` picks the behaviour of ``REPORT`` with an RFC 6578 ``sync-collection`` body:

- ``"valid-sync-token"``: a report that carries a sync-token gets ``403`` with the
  ``DAV:valid-sync-token`` precondition, even for a token the server itself just handed out
  (SabreDAV servers, Nextcloud and Baikal: "Sabre\\DAV\\Exception\\InvalidSyncToken: Invalid or
  unknown sync token", sabre-io/Baikal#1202, owncloud/core#30820; python-caldav#183 and #234
  for Nextcloud's sync-tokens failing after a deletion). The initial report (no token) works;
- ``"507"``: a bare ``507 Insufficient Storage`` for every sync-collection (RFC 6578 §3.6 lets
  a server refuse to return a result it finds too large with 507; SabreDAV's truncation,
  sabre-io/dav#1248);
- ``"403"``: a bare ``403`` for every sync-collection (a server or a reverse proxy that forbids
  the REPORT method for a login that otherwise works);
- None: pass through.

``refused`` counts the reports answered that way.
"""

from __future__ import annotations

import re
import urllib.parse
from http.client import HTTPConnection

from tests.fakes import http

_TOKEN = re.compile(rb"<(?:[A-Za-z0-9]+:)?sync-token>\s*([^<\s][^<]*)</", re.I)
_VALID_SYNC_TOKEN = (
    b'<?xml version="1.0" encoding="utf-8"?>\n'
    b'<d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns"><d:valid-sync-token/>'
    b"<s:message>Invalid or unknown sync token</s:message></d:error>"
)
_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "te", "trailer", "upgrade"})


class DavProxy(http.FakeServer):
    """``start()`` it in front of ``upstream`` (Radicale's base URL); use ``url``; ``stop()``."""

    def __init__(self, upstream: str) -> None:
        super().__init__(_Handler, name="dav-proxy")
        parts = urllib.parse.urlsplit(upstream)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.refuse: str | None = None
        self.refused = 0
        self.reports = 0

    def answer(self, method: str, body: bytes) -> tuple[int, bytes] | None:
        """The refusal for this request, or None to pass it through."""
        if method != "REPORT" or b"sync-collection" not in body:
            return None
        with self._lock:
            self.reports += 1
            mode = self.refuse
            if mode is None or (mode == "valid-sync-token" and not _TOKEN.search(body)):
                return None
            self.refused += 1
        if mode == "valid-sync-token":
            return 403, _VALID_SYNC_TOKEN
        return int(mode), b""


class _Handler(http.FakeHandler):
    fake: DavProxy

    def _any(self) -> None:
        body = self._body()
        refusal = self.fake.answer(self.command, body)
        if refusal is not None:
            status, data = refusal
            self.send_response(status)
            if data:
                self.send_header("Content-Type", "application/xml; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        conn = HTTPConnection(self.fake.host, self.fake.port, timeout=30)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
            conn.request(self.command, self.path, body=body or None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            self.send_response(resp.status, resp.reason)
            for name, value in resp.getheaders():
                if name.lower() not in _HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        finally:
            conn.close()

    do_GET = do_PUT = do_DELETE = do_PROPFIND = do_REPORT = do_OPTIONS = do_MKCALENDAR = do_POST = _any
    do_PROPPATCH = do_MKCOL = _any


__all__ = ["DavProxy"]
