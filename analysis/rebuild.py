"""The full rebuild: every fact, thread, mail merge and contact computed again from the store.

The derived tables are emptied first, so every write is a plain insert in bulk. On SQLite their
secondary indexes are dropped for the load (before the emptying, which then has fewer B-trees
to clear: measured 4.2 s against 0.95 s for a million interactions) and built again once their
table is loaded: one sort per index instead of a random B-tree insert per row (measured: most
of the write time at 1M messages, where the indexes no longer fit the page cache). On
PostgreSQL, where dropping an index would lock every reader out until the commit, the rebuild
loads bare copies of the tables instead and swaps them in at the end (``staging``).

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

from sqlalchemy import Connection, Index, Table, delete, select, text

from kith.analysis.identity import Identities
from kith.analysis.persist import write_facts, write_results
from kith.analysis.rebuild_derive import Op, derive
from kith.analysis.rebuild_helper import OffloadFailed, derive_elsewhere, halves, reader_url
from kith.config.models import AnalysisConfig
from kith.store.derived import Contact, ContactAddress, ContactStat, FlagRow, Interaction, MailFact, ThreadNode
from kith.store.queue import drop_queue
from kith.store.swap import Staging, open_staging
from kith.store.upsert import upsert_tuples

log = logging.getLogger(__name__)
NODE = ThreadNode.__table__
NODE_COLUMNS = ("node", "thread_key")
#: Tables whose PostgreSQL statistics a rebuild refreshes (the store's and its own bulk loads).
ANALYZED = (
    "messages",
    "message_participants",
    "message_locations",
    "mail_facts",
    "thread_nodes",
    "interactions",
    "contacts",
    "contact_addresses",
    "contact_stats",
)
#: Tables whose secondary indexes are rebuilt after the load rather than kept during it.
FACT_TABLES = (MailFact.__table__, ThreadNode.__table__)
BULK_TABLES = (*FACT_TABLES, Interaction.__table__)


def _indexes(conn: Connection, tables: tuple[Table, ...]) -> list[Index]:
    """The secondary indexes a bulk load of ``tables`` drops and builds again (SQLite only)."""
    if conn.dialect.name != "sqlite":
        return []
    return [ix for t in tables for ix in sorted(t.indexes, key=lambda i: str(i.name))]


def rebuild(conn: Connection, ident: Identities, cfg: AnalysisConfig, now: datetime) -> dict[str, int]:
    """Recompute everything; returns the counts for the summary."""
    url = reader_url(conn)  # asked before the first write: see ``rebuild_helper``
    drop_queue(conn)  # the first write: what a sync commits from here on is the next run's work
    staging = open_staging(conn) if conn.dialect.name == "postgresql" else None
    _clear(conn, staging)
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
            _clear(conn, staging)
    if counts is None:
        counts = _write(conn, derive(conn, ident, cfg, now), now, staging)
    started = time.perf_counter()
    if conn.dialect.name == "postgresql":
        # planner statistics for what was just bulk-loaded: until autovacuum gets to them (a
        # minute or more), PostgreSQL plans the next incremental run as if these tables were
        # empty and scans them whole (measured at 1M messages: an incremental run took 22 s
        # before the ANALYZE, 9.9 s after). Staged copies are analysed before the swap: their
        # statistics go with them, and the swap's locks are not held meanwhile.
        conn.execute(text(f"ANALYZE {', '.join(ANALYZED)}"))
        log.debug("rebuild: analysed in %.2f s", time.perf_counter() - started)
    if staging is not None:
        started = time.perf_counter()
        staging.swap(conn)
        log.debug("rebuild: swapped in in %.2f s", time.perf_counter() - started)
    return counts


def _clear(conn: Connection, staging: Staging | None) -> None:
    """Empty the derived tables, the bulk-loaded ones after their indexes are dropped (or the
    staged copies, which are all that the rebuild's statements reach).

    A DELETE comes first: the SQLite driver begins a transaction only at a change of data, so a
    DROP INDEX before any would commit on its own, and a rebuild that failed would leave the
    indexes gone for every later incremental run.
    """
    if staging is not None:
        staging.empty(conn)
        return
    conn.execute(delete(ContactStat.__table__))
    for ix in _indexes(conn, BULK_TABLES):
        ix.drop(conn, checkfirst=True)
    for model in (Interaction, ContactAddress, Contact, MailFact, ThreadNode):
        conn.execute(delete(model.__table__))


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
            _loaded(conn, staging, FACT_TABLES)
            facts_pending = False
            writing["fact indexes"] += time.perf_counter() - started
            started = time.perf_counter()
        if kind == "nodes":
            upsert_tuples(conn, NODE, NODE_COLUMNS, payload, keys=())
        elif kind == "facts":
            write_facts(conn, payload, fresh=True)
        elif kind == "results":
            seen.update(r.address for r in payload)
            write_results(conn, payload, now, scope=[r.address for r in payload], fresh=True)
        elif kind == "done":
            done = {**done, **payload, "phases": [*done.get("phases", []), payload["phases"]]}
        writing[kind] += time.perf_counter() - started
    started = time.perf_counter()
    _loaded(conn, staging, (Interaction.__table__,))
    writing["interaction indexes"] += time.perf_counter() - started
    absent = {a for (a,) in conn.execute(select(FlagRow.__table__.c.contact_address).distinct())} - seen
    if absent:
        write_results(conn, [], now, scope=sorted(absent), fresh=True)
    log.debug("rebuild: derived %s; written (s) %s", done.get("phases"), {k: round(v, 2) for k, v in writing.items()})
    counts = {"messages": done["messages"], "contacts": done["contacts"]}
    if "helper_peak_rss_mb" in done:
        counts["helper_peak_rss_mb"] = done["helper_peak_rss_mb"]
    return counts


def _loaded(conn: Connection, staging: Staging | None, tables: tuple[Table, ...]) -> None:
    """Give tables just loaded their indexes (and, staged, their keys and foreign keys)."""
    if staging is not None:
        staging.loaded(conn, [t.name for t in tables])
    for ix in _indexes(conn, tables):
        ix.create(conn)


__all__ = ["rebuild"]
