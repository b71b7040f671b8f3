"""What every route reaches: the config, the store, the page renderer, the clock, and the hook that
asks for an analysis after a merge. Made once by ``create_app``; passed to each route module.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from kith.config.load import Config
from kith.store.engine import Store
from kith.web.render import Pages

log = logging.getLogger(__name__)


@dataclass
class Context:
    config: Config
    store: Store
    pages: Pages
    clock: Callable[[], datetime]
    #: Ask for an analysis run (a merge changed who is who); returns at once.
    analyze: Callable[[], None]
    #: Tells whether an analysis the web app asked for is still running.
    analyzing: Callable[[], bool]
    state_dir: Path
    secure: bool = False

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for one page's reads (report functions take a ``Session``)."""
        with self.store.session() as session:
            yield session

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """A session whose writes commit on normal exit, all or nothing."""
        with self.store.session() as session:
            yield session


class Analyses:
    """Runs the analysis in a thread of the web process, one run at a time, coalescing requests.

    ``kith web`` alone uses this; under ``kith run`` the daemon passes its own analyser instead.
    """

    def __init__(self, store: Store, config: Config, clock: Callable[[], datetime]) -> None:
        self.store, self.config, self.clock = store, config, clock
        self.wanted = threading.Event()
        self.busy = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self) -> None:
        self.wanted.set()
        self.busy.set()
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="web-analysis", daemon=True)
                self._thread.start()

    def running(self) -> bool:
        return self.busy.is_set()

    def _run(self) -> None:
        from kith.analysis.api import analyze

        while self.wanted.is_set():
            self.wanted.clear()
            try:
                with self.store.engine.begin() as conn:
                    analyze(conn, self.config, now=self.clock())
            except Exception:
                log.exception("the analysis the web app asked for failed; the next sync retries it")
        self.busy.clear()
        if self.wanted.is_set():  # asked again between the loop's test and now
            self.submit()


__all__ = ["Analyses", "Context"]
