"""Push: wait on INBOX with IDLE (RFC 2177) so new mail is synced within seconds, not a poll.

The daemon calls ``source.wait_for_changes(timeout)`` between syncs of an IMAP mailbox, which
asks the source's ``Idler``. It uses its own connection (the sync connection may be mid-pull in
another thread, and a connection in IDLE can do nothing else), EXAMINEs INBOX and IDLEs. Servers may drop an IDLE after 30 minutes
(RFC 2177 §3), so it is re-issued every ``RENEW`` seconds. Any ``EXISTS``, ``EXPUNGE``, ``FETCH``
or ``VANISHED`` ends the wait with True; the timeout (or ``stop`` being set) ends it with False.
Other folders are polled by the daemon at ``poll_interval`` (NOTIFY, RFC 5465, is not used).

Without IDLE on the server it sleeps ``timeout`` and returns False; a dropped connection raises
``TransientError`` so the daemon reconnects with backoff.
"""

from __future__ import annotations

import threading
import time

from imapclient import IMAPClient

from kith.config.mailboxes import ImapMailbox
from kith.connectors.imap.connect import Alerts, TokenProvider, connect, logout, map_errors

#: Re-issue IDLE well before the 29-minute limit servers apply.
RENEW = 25 * 60
#: How often a waiting IDLE looks at ``stop``.
SLICE = 1.0
_CHANGES = (b"EXISTS", b"EXPUNGE", b"FETCH", b"VANISHED")


class Idler:
    """The IDLE connection of one source: opened on the first wait, kept between waits, dropped
    after any error (its state is unknown then), closed with the source. It shares the source's
    ``Alerts``, so what the server says here shows in ``kith status`` too."""

    def __init__(self, mailbox: ImapMailbox, alerts: Alerts, token_provider: TokenProvider | None) -> None:
        self.mailbox, self.alerts, self.token_provider = mailbox, alerts, token_provider
        self.client: IMAPClient | None = None

    def wait(self, timeout: float, stop: threading.Event | None = None) -> bool:
        """True as soon as INBOX changes; False after ``timeout`` seconds or once ``stop`` is set."""
        deadline = time.monotonic() + max(0.0, timeout)
        try:
            with map_errors(self.mailbox, self.alerts, "waiting for changes (IDLE)"):
                client = self.client if self.client is not None else self._open()
                if client is None:  # no IDLE on this server: the poll is all there is
                    _sleep(deadline, stop)
                    return False
                return self._idle(client, deadline, stop)
        except BaseException:
            if self.client is not None:
                try:
                    self.client.shutdown()
                except Exception:
                    pass
                self.client = None
            raise

    def _open(self) -> IMAPClient | None:
        client = connect(self.mailbox, self.alerts, self.token_provider)
        if not client.has_capability("IDLE"):
            logout(client)
            return None
        client.select_folder("INBOX", readonly=True)
        self.client = client
        return client

    def _idle(self, client: IMAPClient, deadline: float, stop: threading.Event | None) -> bool:
        while time.monotonic() < deadline and not (stop and stop.is_set()):
            renew_at = min(deadline, time.monotonic() + RENEW)
            client.idle()
            try:
                while time.monotonic() < renew_at and not (stop and stop.is_set()):
                    left = renew_at - time.monotonic()
                    responses = client.idle_check(timeout=max(0.05, min(SLICE, left)))
                    if any(_is_change(r) for r in responses):
                        return True
            finally:
                done = client.idle_done()
                self.alerts.collect(client)
            if any(_is_change(r) for r in done[1] or ()):
                return True
        return False

    def close(self) -> None:
        logout(self.client)
        self.client = None


def _is_change(response: object) -> bool:
    return isinstance(response, tuple) and any(part in _CHANGES for part in response[:2])


def _sleep(deadline: float, stop: threading.Event | None) -> None:
    left = deadline - time.monotonic()
    if left <= 0:
        return
    if stop is not None:
        stop.wait(left)
    else:
        time.sleep(left)


__all__ = ["RENEW", "Idler"]
