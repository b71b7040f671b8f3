"""Run the analysis: everything (rebuild), or only what the sync queued and the clock moved.

The two paths: ``kith.analysis.incremental`` (the queue's messages and the contacts they touch)
and ``kith.analysis.rebuild`` (every fact and contact again: writing in this process, deriving in
``rebuild_derive``, inline or in ``rebuild_helper``'s process). Both share the loaders, the rules
and the writers; they differ only in which messages get new facts and which contacts get
re-evaluated. All in the caller's transaction: a failed run leaves the queue as it was.

A queue that holds a large share of the store (the first sync) is cheaper to rebuild.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from kith.analysis.identity import Identities, identities_from
from kith.analysis.incremental import incremental
from kith.analysis.persist import record_failures, stored_failures
from kith.analysis.rebuild import rebuild as rebuild_all
from kith.config.load import Config
from kith.config.models import AnalysisConfig
from kith.store.analysis_run import (
    fact_count,
    lock_analysis,
    no_jit,
    open_flag_counts,
    queued_messages,
    record_run,
    stored_fingerprint,
)
from kith.store.health import clear_analysis_error
from kith.store.merges import merges_in_force
from kith.store.queue import take_queue

log = logging.getLogger(__name__)

#: Rebuild instead of the incremental path when the queue holds more than this share of messages.
REBUILD_SHARE = 0.25
REBUILD_MIN = 2000


def _fingerprint(ident: Identities, cfg: AnalysisConfig) -> str:
    digest = hashlib.sha1(cfg.model_dump_json().encode()).hexdigest()[:12]
    return f"{ident.fingerprint()}:{digest}"


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector for the run.

    The analysis allocates millions of small objects that all live until it ends; the collector
    would walk them again and again while finding almost nothing to free (measured: 10-15 % of a
    rebuild at 100k messages, growing with the size). Reference counting still frees everything
    as usual; the collector resumes afterwards.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def run(conn: Connection, config: Config, *, now: datetime | None = None, rebuild: bool = False) -> dict[str, Any]:
    """Analyse inside the caller's transaction; returns a summary for logs and the CLI."""
    with _no_cyclic_gc():
        return _run(conn, config, now=now, rebuild=rebuild)


def _run(conn: Connection, config: Config, *, now: datetime | None, rebuild: bool) -> dict[str, Any]:
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    lock_analysis(conn)
    ident = identities_from(config, merges_in_force(conn))
    cfg = config.settings.analysis
    fp = _fingerprint(ident, cfg)
    queued = queued_messages(conn)
    # counting the facts scans the table: only worth it when the queue is big enough to matter
    big = queued > REBUILD_MIN and queued > REBUILD_SHARE * fact_count(conn)
    if rebuild or stored_fingerprint(conn) != fp or big:
        if stored_failures(conn):  # every contact is evaluated again (written only if any: a
            record_failures(conn, {}, (), now, reset=True)  # first write keeps the rebuild inline)
        mode, counts = "rebuild", rebuild_all(conn, ident, cfg, now)  # (it takes the queue itself)
    else:
        ids, addresses = take_queue(conn)
        with no_jit(conn):
            mode, counts = "incremental", incremental(conn, ident, cfg, now, ids, addresses)
    record_run(conn, fp, now)
    clear_analysis_error(conn)
    flags = open_flag_counts(conn)
    summary = {
        "mode": mode,
        **counts,
        "failed_contacts": len(stored_failures(conn)),
        "open_flags": dict(sorted(flags.items())),
        "seconds": round(time.perf_counter() - started, 3),
    }
    log.info(  # a sentence for the journal; the CLI prints its own from the summary
        "analysis (%s) in %.2f s: %s; open flags: %s",
        mode,
        summary["seconds"],
        ", ".join(f"{k} {v}" for k, v in counts.items()),
        ", ".join(f"{n} {k}" for k, n in summary["open_flags"].items()) or "none",
    )
    return summary


__all__ = ["REBUILD_MIN", "REBUILD_SHARE", "run"]
