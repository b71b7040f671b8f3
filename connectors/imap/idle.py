"""Push: wait on INBOX with IDLE (RFC 2177) so new mail is synced within seconds, not a poll.

The daemon calls ``source.wait_for_changes(timeout)`` between syncs of an IMAP mailbox. It uses
its own connection (the sync connection may be mid-pull in another thread, and a connection in
IDLE can do nothing else), EXAMINEs INBOX and IDLEs. Servers may drop an IDLE after 30 minutes
(RFC 2177 §3), so it is re-issued every ``RENEW`` seconds. Any ``EXISTS``, ``EXPUNGE``, ``FETCH``
or ``VANISHED`` ends the wait with True; the timeout (or ``stop`` being set) ends it with False.
Other folders are polled by the daemon at ``poll_interval`` (NOTIFY, RFC 5465, is not used).

Without IDLE on the server it sleeps ``timeout`` and returns False; a dropped connection raises
``TransientError`` so the daemon reconnects with backoff.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from kith.connectors.imap.connect import connect, logout, map_errors

if TYPE_CHECKING:
    from kith.connectors.imap.source import ImapSource

#: Re-issue IDLE well before the 29-minute limit servers apply.
RENEW = 25 * 60
#: How often a waiting IDLE looks at ``stop``: the longest a cancelled watcher lingers, and a
#: wake-up of an idle daemon per mailbox every time (1 s cost 10 IDLE mailboxes 36k a hour).
SLICE = 5.0
_CHANGES = (b"EXISTS", b"EXPUNGE", b"FETCH", b"VANISHED")


def wait_for_changes(source: ImapSource, timeout: float, stop: threading.Event | None = None) -> bool:
    mailbox = source.mailbox
    deadline = time.monotonic() + max(0.0, timeout)
    try:
        with map_errors(mailbox, source._alerts, "waiting for changes (IDLE)"):
            if source._idle is None:
                client = connect(mailbox, source._alerts, source.token_provider)
                if not client.has_capability("IDLE"):
                    logout(client)
                    _sleep(deadline, stop)
                    return False
                client.select_folder("INBOX", readonly=True)
                source._idle = client
            client = source._idle
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
                    source._alerts.collect(client)
                if any(_is_change(r) for r in done[1] or ()):
                    return True
            return False
    except BaseException:
        if source._idle is not None:
            try:
                source._idle.shutdown()
            except Exception:
                pass
            source._idle = None
        raise


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


__all__ = ["RENEW", "wait_for_changes"]
