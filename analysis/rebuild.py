"""The full rebuild: every fact, thread, mail merge and contact computed again from the store.

The derived tables are emptied first, so every write is a plain insert in bulk. On SQLite their
secondary indexes are dropped for the load and built again at the end: one sort per index
instead of a random B-tree insert per row (measured: most of the write time at 1M messages,
where the indexes no longer fit the page cache). PostgreSQL keeps them: dropping an index there
takes a lock that would block every reader of the table until the rebuild commits, while SQLite
readers keep their WAL snapshot.
"""

from __future__ import annotations

import logging
import resource
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from operator import attrgetter

from sqlalchemy import Connection, Table, delete, select, text

from kith.analysis.broadcasts import Outbound, mail_merges
from kith.analysis.contacts import group_contacts
from kith.analysis.copies import copy_groups
from kith.analysis.evaluate import evaluate
from kith.analysis.facts import Fact, fact_of, mark_broadcasts
from kith.analysis.identity import Identities
from kith.analysis.load import load_meetings, outbound_recipients, participant_rows
from kith.analysis.persist import write_facts, write_results
from kith.analysis.threads import UnionFind
from kith.config.models import AnalysisConfig
from kith.store.derived import Contact, ContactAddress, ContactStat, FlagRow, Interaction, MailFact, ThreadNode
from kith.store.upsert import chunks, upsert

log = logging.getLogger(__name__)
NODE = ThreadNode.__table__
#: The node list of a fact once its nodes are in the union-find (shared, never appended to).
NO_NODES: list[str] = []
#: Contacts evaluated and written per slice (bounds the memory for results).
EVALUATE_SLICE = 2000
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
BULK_TABLES = (MailFact.__table__, ThreadNode.__table__, Interaction.__table__)


@contextmanager
def _bulk_load(conn: Connection, tables: tuple[Table, ...]) -> Iterator[None]:
    """Drop the secondary indexes of ``tables`` (SQLite only) and create them again afterwards."""
    indexes = [ix for t in tables for ix in sorted(t.indexes, key=lambda i: str(i.name))]
    if conn.dialect.name != "sqlite":
        yield
        return
    for ix in indexes:
        ix.drop(conn, checkfirst=True)
    yield
    for ix in indexes:
        ix.create(conn)


def rebuild(conn: Connection, ident: Identities, cfg: AnalysisConfig, now: datetime) -> dict[str, int]:
    """Recompute everything; returns the counts for the summary."""
    for model in (Interaction, ContactStat, ContactAddress, Contact, MailFact, ThreadNode):
        conn.execute(delete(model.__table__))
    with _bulk_load(conn, BULK_TABLES):
        counts = _rebuild(conn, ident, cfg, now)
        started = time.perf_counter()
    log.debug("rebuild: indexes built in %.2f s", time.perf_counter() - started)
    if conn.dialect.name == "postgresql":
        # planner statistics for what was just bulk-loaded: until autovacuum gets to them (a
        # minute or more), PostgreSQL plans the next incremental run as if these tables were
        # empty and scans them whole (measured at 1M messages: an incremental run took 22 s
        # before the ANALYZE, 9.9 s after)
        conn.execute(text(f"ANALYZE {', '.join(ANALYZED)}"))
    return counts


class _Phases:
    """Seconds (and the peak RSS so far) per phase, logged at debug level: where a slow rebuild
    spends its time and memory."""

    def __init__(self) -> None:
        self.last = time.perf_counter()
        self.seconds: dict[str, float] = {}

    def __call__(self, name: str) -> None:
        t = time.perf_counter()
        self.seconds[name] = round(t - self.last, 2)
        self.last = t
        if log.isEnabledFor(logging.DEBUG):
            self.seconds[name + " peak MB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def _rebuild(conn: Connection, ident: Identities, cfg: AnalysisConfig, now: datetime) -> dict[str, int]:
    phase = _Phases()
    facts: dict[str, Fact] = {}
    uf = UnionFind()
    for group in copy_groups(conn, ident):
        f = fact_of(group, ident, now)
        # join the thread graph now and drop the node list: a million of them would sit idle
        first = f.nodes[0]
        uf.find(first)
        for n in f.nodes[1:]:
            uf.union(first, n)
        f.nodes = NO_NODES
        facts[f.key] = f
    phase("facts")
    for f in facts.values():
        f.thread_key = uf.find(f.key)
    # in key order: appending to the node B-tree instead of inserting all over it; written now so
    # the union-find (two entries a message) is gone before the mail merges need their memory
    for chunk in chunks(sorted(uf.parent), 10000):
        upsert(conn, NODE, [{"node": n, "thread_key": uf.find(n)} for n in chunk], keys=())
    del uf
    phase("threads")
    # only a subject with enough of my mail can make a merge: the others need no recipient sets
    per_subject = Counter(f.subject_norm for f in facts.values() if f.outbound and f.counted and not f.automated)
    subjects = {s for s, n in per_subject.items() if n >= cfg.merge_min_messages}
    del per_subject
    candidates = {k for k, f in facts.items() if f.outbound and f.counted and f.subject_norm in subjects}
    recips = outbound_recipients(conn, ident, None, only=candidates)
    merged = mail_merges(
        (
            Outbound(f.key, f.time, f.subject_norm, recips.get(f.key, frozenset()), f.automated)
            for f in map(facts.__getitem__, candidates)
        ),
        cfg,
    )
    del candidates, subjects, recips
    mark_broadcasts(facts, merged, cfg)
    phase("mail merges")
    # in key order (the messages were read in table order): appending to the fact B-tree
    write_facts(conn, sorted(facts.values(), key=attrgetter("key")), fresh=True)
    phase("write facts")
    mine: dict[str, list[datetime]] = defaultdict(list)
    for f in facts.values():
        if f.outbound and not f.automated and f.counted:
            mine[f.thread_key].append(f.time)
    datas = group_contacts(
        participant_rows(conn), facts, load_meetings(conn, ident, cfg), lambda _t, m=mine: m, ident, cfg
    )
    phase("contacts")
    n_facts = len(facts)
    del facts, mine
    # evaluate and write a slice at a time, so results never pile up beside the records
    seen: set[str] = set()
    n_contacts = len(datas)
    datas.reverse()
    while datas:
        part = [datas.pop() for _ in range(min(EVALUATE_SLICE, len(datas)))]
        results = [evaluate(d, cfg, now) for d in part]
        del part
        seen.update(r.address for r in results)
        write_results(conn, results, now, scope=[r.address for r in results], fresh=True)
    phase("evaluate and write")
    absent = {a for (a,) in conn.execute(select(FlagRow.__table__.c.contact_address).distinct())} - seen
    if absent:
        write_results(conn, [], now, scope=sorted(absent), fresh=True)
    phase("absent")
    log.debug("rebuild phases (s): %s", phase.seconds)
    return {"messages": n_facts, "contacts": n_contacts}


__all__ = ["EVALUATE_SLICE", "rebuild"]
