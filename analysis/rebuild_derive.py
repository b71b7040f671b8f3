"""The rebuild's derivation: every fact, thread, mail merge and contact result from the store.

It reads what the sync writes (messages, participants, locations, events), and of the flags only
their keys, which only the analysis makes (one at a time); it writes nothing: it yields what is
to be written, as ``Op`` pairs, in the order the writes must happen.
That lets ``rebuild`` run it in a helper process (``rebuild_helper``) while its own process, which owns
the transaction, does the writing; or run it inline and write as it goes.

Ops: ``("nodes", [(node, thread key)])``, ``("facts", [Fact.values()])``,
``("results", [ContactResult])``, and last ``("done", {counts and phase seconds})``.
"""

from __future__ import annotations

import resource
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import datetime
from operator import attrgetter
from typing import Any, Protocol

from sqlalchemy import Connection

from kith.analysis.broadcasts import Outbound, mail_merges
from kith.analysis.contacts import group_contacts
from kith.analysis.copies import Part, copy_groups
from kith.analysis.evaluate import evaluate_isolated
from kith.analysis.facts import Fact, fact_of, mark_broadcasts
from kith.analysis.identity import Identities
from kith.analysis.load import load_meetings, outbound_recipients
from kith.analysis.threads import UnionFind
from kith.config.models import AnalysisConfig
from kith.store.analysis_reads import participant_rows, stored_flag_keys
from kith.store.upsert import chunks

Op = tuple[str, Any]
#: The node list of a fact once its nodes are in the union-find (shared, never appended to).
NO_NODES: list[str] = []
#: Contacts evaluated per ``results`` op (bounds the memory for results).
EVALUATE_SLICE = 2000
#: Rows per ``nodes`` / ``facts`` op.
ROWS_PER_OP = 10000


class Exchange(Protocol):
    """Two processes sharing a rebuild's facts: each derives its ``part`` and sends it (``None``
    last), then takes the other's part, a batch at a time, from ``received``."""

    part: Part

    def send(self, states: list[tuple[Any, ...]] | None) -> None: ...

    def received(self) -> Iterator[list[tuple[Any, ...]]]: ...


class Phases:
    """Seconds (and the peak RSS so far) per phase: where a slow rebuild spends its time and memory."""

    def __init__(self) -> None:
        self.last = time.perf_counter()
        self.seconds: dict[str, float] = {}

    def __call__(self, name: str) -> None:
        t = time.perf_counter()
        self.seconds[name] = round(t - self.last, 2)
        self.last = t
        self.seconds[name + " peak MB"] = _peak_mb()


def _peak_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def derive(
    conn: Connection,
    ident: Identities,
    cfg: AnalysisConfig,
    now: datetime,
    *,
    facts_out: bool = True,
    contacts_out: bool = True,
    exchange: Exchange | None = None,
) -> Iterator[Op]:
    """Everything a rebuild writes, as ops (see the module docstring).

    The facts are derived either way (the contacts are made of them); ``facts_out`` says whether
    their ops (nodes and facts) are yielded, ``contacts_out`` whether the contacts are derived
    and their results yielded. ``rebuild_helper`` runs one half in each process. With ``exchange``
    this process derives only its part of the facts and trades it for the other part.
    """
    phase = Phases()
    facts: dict[str, Fact] = {}
    uf = UnionFind()

    if exchange is None:
        for group in copy_groups(conn, ident):
            _add(facts, uf, fact_of(group, ident, now))
    else:
        batch: list[tuple[Any, ...]] = []
        for group in copy_groups(conn, ident, part=exchange.part):
            f = fact_of(group, ident, now)
            batch.append(f.state())  # with its nodes, which ``_add`` lets go
            _add(facts, uf, f)
            if len(batch) == ROWS_PER_OP:
                exchange.send(batch)
                batch = []
        exchange.send(batch)
        exchange.send(None)
        for states in exchange.received():
            for state in states:
                _add(facts, uf, Fact.from_state(state))
    phase("facts")
    for f in facts.values():
        f.thread_key = uf.find(f.key)
    # in key order: appending to the node B-tree instead of inserting all over it; handed over
    # now so the union-find (two entries a message) is gone before the mail merges need memory
    if facts_out:
        for chunk in chunks(sorted(uf.parent), ROWS_PER_OP):
            yield "nodes", [(n, uf.find(n)) for n in chunk]
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
    n_facts = len(facts)
    if facts_out:
        # in key order (the messages were read in table order): appending to the fact B-tree
        ordered = sorted(facts.values(), key=attrgetter("key"))
        for part in chunks(ordered, ROWS_PER_OP):
            yield "facts", [f.values() for f in part]
        del ordered
        phase("facts handed over")
    if not contacts_out:
        yield "done", {"messages": n_facts, "phases": phase.seconds, "peak_rss_mb": _peak_mb()}
        return
    mine: dict[str, list[datetime]] = defaultdict(list)
    for f in facts.values():
        if f.outbound and not f.automated and f.counted:
            mine[f.thread_key].append(f.time)
    datas = group_contacts(
        participant_rows(conn), facts, load_meetings(conn, ident, cfg), lambda _t, m=mine: m, ident, cfg
    )
    phase("contacts")
    del facts, mine
    # evaluate a slice at a time, so results never pile up beside the records
    n_contacts = len(datas)
    datas.reverse()
    flagged = stored_flag_keys(conn)
    while datas:
        part = [datas.pop() for _ in range(min(EVALUATE_SLICE, len(datas)))]
        # only the resolved findings of stored flags: the others (most of a contact's inbound
        # mail) were a third of the bytes a helper handed over, pickled and read
        results = [evaluate_isolated(d, cfg, now, flagged) for d in part]
        del part
        yield "results", results
    phase("evaluate")
    yield "done", {"messages": n_facts, "contacts": n_contacts, "phases": phase.seconds, "peak_rss_mb": _peak_mb()}


def _add(facts: dict[str, Fact], uf: UnionFind, f: Fact) -> None:
    """Keep ``f``, its nodes joined in the thread graph and then dropped: a million node lists
    would sit idle until the end."""
    first = f.nodes[0]
    uf.find(first)
    for n in f.nodes[1:]:
        uf.union(first, n)
    f.nodes = NO_NODES
    facts[f.key] = f


__all__ = ["EVALUATE_SLICE", "Exchange", "Op", "Phases", "derive"]
