"""Finding 9: after a database blip the daemon left the analysis undone until new mail arrived.
The daemon's analyzer retries a failed run with backoff, with or without new mail, and
``kith status`` shows the backlog and the error meanwhile (both dialects)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select, text

from kith.daemon.analyzer import Analyzer
from kith.store.derived import AnalysisQueue
from kith.store.engine import Store
from kith.store.health import analysis_health
from tests.hostile.corpus import config_of, message, place, sync


def wait_for(condition: Callable[[], bool], seconds: float = 60.0) -> bool:
    """Poll ``condition`` until it holds (True) or ``seconds`` pass (False); never a timing assert."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def queued(store: Store) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(AnalysisQueue)).scalar_one())


def test_a_failed_analysis_is_retried_without_new_mail_and_shown_meanwhile(store: Store, tmp_path: Path) -> None:
    where = place("maildir", tmp_path, None)
    where.deliver([message(i) for i in range(3)])
    assert sync(store, where.config(), tmp_path).status == "ok"
    assert queued(store) > 0
    config = config_of(where.config())
    # the blip: a table the analysis writes is away for a moment
    with store.engine.begin() as conn:
        conn.execute(text("ALTER TABLE contact_stats RENAME TO contact_stats_away"))
    stop = threading.Event()
    analyzer = Analyzer(store, lambda: config, stop)
    analyzer.RETRY_FIRST = 0.2  # type: ignore[misc]
    analyzer.start()
    analyzer.submit({"alice@example.com"})  # what the sync hands over; nothing more will come
    try:
        with store.engine.connect() as conn:
            assert wait_for(lambda: analysis_health(conn)["last_error"] is not None)
            health = analysis_health(conn)
        assert health["queued"] > 0 and "contact_stats" in health["last_error"]
        with store.engine.begin() as conn:
            conn.execute(text("ALTER TABLE contact_stats_away RENAME TO contact_stats"))
        assert wait_for(lambda: queued(store) == 0), "the backlog was never analysed"
        with store.engine.connect() as conn:
            assert wait_for(lambda: analysis_health(conn)["last_error"] is None)
    finally:
        stop.set()
        analyzer.wanted.set()
        analyzer.join(10)
