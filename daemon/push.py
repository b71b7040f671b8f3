"""Push for the daemon: one thread per mailbox that waits for the provider to say "changed".

The watcher asks the mailbox's source for the ``Pushing`` capability (IMAP IDLE) and wakes the
scheduler when it reports a change; polling keeps every mailbox fresh whatever happens here.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from kith.config.mailboxes import MailboxBase
from kith.connectors.base import Pushing, Source
from kith.connectors.registry import make_source

log = logging.getLogger(__name__)

#: Longest single IDLE-style wait of the push hook.
IDLE_WAIT = 60.0


class IdleWatcher(threading.Thread):
    """Optional push: if a mailbox's source is ``Pushing`` (``wait_for_changes``), wake it early.

    Used for mailboxes with ``idle = true`` (IMAP IDLE). A source without the capability ends
    the watcher at once, so this works with any connector and depends on none. Errors back off and
    retry; the regular poll keeps the mailbox fresh meanwhile. With several workers, an
    ``idle:NAME`` lease makes one of them watch each mailbox (one IDLE connection, not one per
    worker); ``claim`` takes or renews it and is called at least every ``period`` / 3.
    """

    def __init__(
        self,
        mailbox: MailboxBase,
        state_dir: Path,
        wake: Callable[[str], None],
        *,
        claim: Callable[[], bool] = lambda: True,
        release: Callable[[], None] = lambda: None,
        period: float = 3 * IDLE_WAIT,
    ) -> None:
        super().__init__(name=f"idle-{mailbox.name}", daemon=True)
        self.mailbox, self.state_dir, self.wake = mailbox, state_dir, wake
        self.claim, self.release, self.period = claim, release, period
        self.cancel = threading.Event()

    def run(self) -> None:
        try:
            self._watch()
        finally:
            self.release()

    def _watch(self) -> None:
        backoff, name = 1.0, self.mailbox.name
        while not self.cancel.is_set():
            if not self._claim():  # another worker watches it
                self.cancel.wait(self.period / 2)
                continue
            source: Source | None = None
            try:
                source = make_source(self.mailbox, state_dir=self.state_dir)
                if not isinstance(source, Pushing):
                    return
                seconds = min(IDLE_WAIT, self.period / 3)
                while not self.cancel.is_set():
                    # the stop event makes the wait return as soon as we are cancelled
                    changed = source.wait_for_changes(seconds, stop=self.cancel)
                    if changed and not self.cancel.is_set():
                        log.debug("mailbox %s: push says something changed", name)
                        self.wake(name)
                    backoff = 1.0
                    if not self._claim():
                        log.info("mailbox %s: another worker watches it for changes now", name)
                        break
            except Exception as exc:
                log.info("mailbox %s: push wait failed (%s); polling meanwhile", name, exc)
                self.cancel.wait(backoff)
                backoff = min(backoff * 2, 300.0)
            finally:
                if source is not None:
                    try:
                        source.close()
                    except Exception:
                        log.debug("closing the push source of %s failed", name, exc_info=True)

    def _claim(self) -> bool:
        try:
            return self.claim()
        except Exception as exc:  # the database is away: do not watch without the lease
            log.debug("mailbox %s: cannot claim the push watch: %s", self.mailbox.name, exc)
            return False


__all__ = ["IDLE_WAIT", "IdleWatcher"]
