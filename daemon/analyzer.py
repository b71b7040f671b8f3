"""The daemon's analysis thread: analyse what the syncs touched, one run at a time.

A module of its own because it is one job with its own retry policy, apart from the loop in
``run``. kith.analysis is imported like any other package: a daemon whose analysis cannot be
imported does not start (it used to run for its whole life without analysis, said only at debug).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from kith.analysis.api import analyze_touched
from kith.config.load import Config
from kith.store.engine import Store
from kith.store.faults import describe
from kith.store.health import record_analysis_error
from kith.store.models import utcnow

log = logging.getLogger(__name__)


class Analyzer(threading.Thread):
    """Runs the analysis of touched contacts in its own thread, coalescing requests.

    Syncs only hand over what they touched and go on (their slot and lease are free at once);
    while one analysis runs, later requests pile up and are served by one more run. The sync
    writes its analysis queue in the same transaction as each batch, so an analysis skipped at
    shutdown is not lost: the next start drains the queue (one run is requested on start).

    A run that fails (the database went away a moment) is tried again after ``RETRY_FIRST``
    seconds, doubling up to ``RETRY_MAX``, whether or not new mail comes: the queue it left
    is work to do. Its error is kept for ``kith status`` until a run succeeds.
    """

    #: Seconds before the first retry of a failed run, and the longest wait between retries.
    RETRY_FIRST = 5.0
    RETRY_MAX = 300.0

    def __init__(self, store: Store, config_of: Callable[[], Config], stop: threading.Event) -> None:
        super().__init__(name="analysis", daemon=True)
        self.store, self.config_of, self.stop = store, config_of, stop
        self.pending: set[str] | None = None
        self.lock = threading.Lock()
        self.wanted = threading.Event()
        #: Seconds until the next retry while the last run failed; None while all is well.
        self.retry_in: float | None = None
        #: set while a run is in flight (the web app says so on the page that asked for it)
        self.busy = threading.Event()

    def submit(self, touched: set[str], _now: datetime | None = None) -> None:
        with self.lock:
            self.pending = (self.pending or set()) | touched
        self.wanted.set()

    def run(self) -> None:
        while True:
            asked = self.wanted.wait(self.retry_in)
            if self.stop.is_set():
                return
            with self.lock:
                touched, self.pending = self.pending, None
                self.wanted.clear()
            if touched is None and asked and self.retry_in is None:
                continue
            self.busy.set()
            try:
                analyze_touched(self.store, self.config_of(), touched or set(), now=utcnow())
                self.retry_in = None
            except Exception as exc:
                self.retry_in = min(self.RETRY_MAX, (self.retry_in or self.RETRY_FIRST / 2) * 2)
                log.exception("analysis failed; retrying in %.0f s", self.retry_in)
                try:
                    record_analysis_error(self.store.engine, describe(exc), utcnow())
                except Exception as again:  # the database is still away: the log has it
                    log.debug("cannot record the analysis error: %s", describe(again))
            finally:
                self.busy.clear()


__all__ = ["Analyzer"]
