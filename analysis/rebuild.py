"""The full rebuild: every fact, thread, mail merge and contact computed again from the store.

The derived tables are emptied first, so every write is a plain insert in bulk. On SQLite their
secondary indexes are dropped for the load and built again once their table is loaded: one sort
per index instead of a random B-tree insert per row (measured: most of the write time at 1M
messages, where the indexes no longer fit the page cache; ``kith.store.rebuild_tables``). On
PostgreSQL, where dropping an index would lock every reader out until the commit, the rebuild
loads bare copies of the tables instead and swaps them in at the end (``kith.store.swap``).

What is written comes from ``derive``: in a helper process on a big store (``rebuild_helper``), so this
process writes one slice while the helper derives the next, else inline.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from itertools import chain
from typing import Any

from sqlalchemy import Connection

from kith.analysis.identity import Identities
from kith.analysis.persist import write_results
from kith.analysis.rebuild_derive import Op, derive
from kith.analysis.rebuild_helper import OffloadFailed, derive_elsewhere, halves, reader_url
from kith.config.models import AnalysisConfig
from kith.store.analysis_writes import write_facts
from kith.store.queue import drop_queue
from kith.store.rebuild_tables import (
    FACT_TABLES,
    INTERACTION_TABLES,
    analyze_tables,
    clear_derived,
    flagged_contacts,
    loaded,
    write_nodes,
)
from kith.store.swap import Staging, open_staging

log = logging.getLogger(__name__)


def rebuild(conn: Connection, ident: Identities, cfg: AnalysisConfig, now: datetime) -> dict[str, int]:
    """Recompute everything; returns the counts for the summary."""
    url = reader_url(conn)  # asked before the first write: see ``rebuild_helper``
    drop_queue(conn)  # the first write: what a sync commits from here on is the next run's work
    staging = open_staging(conn) if conn.dialect.name == "postgresql" else None
    clear_derived(conn, staging)
    counts: dict[str, int] | None = None
    if url is not None:
        try:
            helper = derive_elsewhere(url, ident, cfg, now, halves(conn))
            try:
                here = derive(conn, ident, cfg, now, contacts_out=False, exchange=helper)
                counts = _write(conn, chain(here, helper), now, staging)
            finally:
                helper.close()
        except OffloadFailed as exc:
            log.warning("rebuild: deriving in this process instead (%s)", str(exc).splitlines()[0])
            log.debug("rebuild: the helper's failure: %s", exc)
            clear_derived(conn, staging)
    if counts is None:
        counts = _write(conn, derive(conn, ident, cfg, now), now, staging)
    started = time.perf_counter()
    analyze_tables(conn)  # PostgreSQL's planner statistics of what was just loaded
    log.debug("rebuild: analysed in %.2f s", time.perf_counter() - started)
    if staging is not None:
        started = time.perf_counter()
        staging.swap(conn)
        log.debug("rebuild: swapped in in %.2f s", time.perf_counter() - started)
    return counts


def _write(conn: Connection, ops: Iterator[Op], now: datetime, staging: Staging | None) -> dict[str, int]:
    """Write what ``derive`` yields; returns its counts. Logs, at debug level, the seconds spent
    writing each kind of op beside the derivation's own phases.

    The indexes of the facts and nodes are built as soon as those are all written, while the
    contacts are still being derived (in a helper, that is time this process would wait).
    """
    seen: set[str] = set()
    done: dict[str, Any] = {}
    writing: dict[str, float] = defaultdict(float)
    facts_pending = True
    for kind, payload in ops:
        started = time.perf_counter()
        if kind in ("results", "done") and facts_pending:
            loaded(conn, staging, FACT_TABLES)
            facts_pending = False
            writing["fact indexes"] += time.perf_counter() - started
            started = time.perf_counter()
        if kind == "nodes":
            write_nodes(conn, payload)
        elif kind == "facts":
            write_facts(conn, payload, fresh=True)
        elif kind == "results":
            seen.update(r.address for r in payload)
            write_results(conn, payload, now, scope=[r.address for r in payload], fresh=True)
        elif kind == "done":
            done = {**done, **payload, "phases": [*done.get("phases", []), payload["phases"]]}
        writing[kind] += time.perf_counter() - started
    started = time.perf_counter()
    loaded(conn, staging, INTERACTION_TABLES)
    writing["interaction indexes"] += time.perf_counter() - started
    absent = flagged_contacts(conn) - seen
    if absent:
        write_results(conn, [], now, scope=sorted(absent), fresh=True)
    log.debug("rebuild: derived %s; written (s) %s", done.get("phases"), {k: round(v, 2) for k, v in writing.items()})
    counts = {"messages": done["messages"], "contacts": done["contacts"]}
    if "helper_peak_rss_mb" in done:
        counts["helper_peak_rss_mb"] = done["helper_peak_rss_mb"]
    return counts


__all__ = ["rebuild"]
