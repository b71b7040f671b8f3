"""Run the analysis: everything (rebuild), or only what the sync queued and the clock moved.

Both paths share the loaders, the rules and the writers; they differ only in which messages get
new facts and which contacts get re-evaluated. The incremental path:

1. takes the queue (message rows and event addresses the sync touched): the entries it sees;
2. recomputes those messages' facts, merging thread components and re-deciding mail merges
   around them (which can touch contacts on *other* messages: the touched set grows with them);
3. re-evaluates the touched contacts, plus those whose stored ``next_check`` has come.

All in the caller's transaction: a failed run leaves the queue as it was.

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

from sqlalchemy import Connection, func, select, text, update

from kith.analysis.broadcasts import Outbound, mail_merges
from kith.analysis.contacts import group_contacts
from kith.analysis.copies import copy_groups
from kith.analysis.evaluate import evaluate_isolated
from kith.analysis.facts import Fact, mark_broadcasts, merge_copies
from kith.analysis.identity import Identities, identities_from
from kith.analysis.intake import take_queue
from kith.analysis.load import (
    changed_rows,
    contact_history,
    facts_by_thread,
    facts_with_subjects,
    load_meetings,
    outbound_recipients,
    participants_of,
    raw_forms,
    stored_facts,
    stored_flag_keys,
)
from kith.analysis.persist import contact_ids, record_failures, stored_failures, write_facts, write_results
from kith.analysis.rebuild import rebuild as rebuild_all
from kith.analysis.threads import UnionFind
from kith.config.load import Config
from kith.config.models import AnalysisConfig
from kith.store.derived import (
    AnalysisQueue,
    Contact,
    ContactAddress,
    ContactStat,
    FlagRow,
    MailFact,
    ThreadNode,
)
from kith.store.health import clear_analysis_error
from kith.store.merges import merges_in_force
from kith.store.models import MessageRow, MetaRow
from kith.store.upsert import chunks, upsert

log = logging.getLogger(__name__)

QUEUE = AnalysisQueue.__table__
FACT = MailFact.__table__
NODE = ThreadNode.__table__
META = MetaRow.__table__
MSG = MessageRow.__table__
#: Rebuild instead of the incremental path when the queue holds more than this share of messages.
REBUILD_SHARE = 0.25
REBUILD_MIN = 2000
ADVISORY_LOCK = 0x6B697468  # "kith": one analysis at a time per PostgreSQL database


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


@contextmanager
def _no_jit(conn: Connection) -> Iterator[None]:
    """PostgreSQL's JIT off for the run's statements, then as it was.

    The incremental path's reads are many short lookups whose estimated cost still passes the
    JIT threshold: compiling each took longer than the query saved (measured at 1M messages,
    PostgreSQL 15: 0.1-0.2 s of a 2.4 s run).
    """
    # (a server without the setting, before PostgreSQL 11, has no JIT to turn off)
    pg = conn.dialect.name == "postgresql"
    was = conn.execute(text("SELECT current_setting('jit', true)")).scalar() if pg else None
    if was is None:
        yield
        return
    conn.execute(text("SELECT set_config('jit', 'off', true)"))
    yield  # on an error the transaction rolls back, and the setting with it
    conn.execute(text("SELECT set_config('jit', :was, true)"), {"was": was})


def run(conn: Connection, config: Config, *, now: datetime | None = None, rebuild: bool = False) -> dict[str, Any]:
    """Analyse inside the caller's transaction; returns a summary for logs and the CLI."""
    with _no_cyclic_gc():
        return _run(conn, config, now=now, rebuild=rebuild)


def _run(conn: Connection, config: Config, *, now: datetime | None, rebuild: bool) -> dict[str, Any]:
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK})
    ident = identities_from(config, merges_in_force(conn))
    cfg = config.settings.analysis
    fp = _fingerprint(ident, cfg)
    stored_fp = conn.execute(select(META.c.value).where(META.c.key == "analysis_fingerprint")).scalar()
    queued = conn.execute(select(func.count()).select_from(QUEUE).where(QUEUE.c.message_id.is_not(None))).scalar() or 0
    # counting the facts scans the table: only worth it when the queue is big enough to matter
    big = queued > REBUILD_MIN and queued > REBUILD_SHARE * (
        conn.execute(select(func.count()).select_from(FACT)).scalar() or 0
    )
    if rebuild or stored_fp != fp or big:
        if stored_failures(conn):  # every contact is evaluated again (written only if any: a
            record_failures(conn, {}, (), now, reset=True)  # first write keeps the rebuild inline)
        mode, counts = "rebuild", rebuild_all(conn, ident, cfg, now)  # (it takes the queue itself)
    else:
        ids, addresses = take_queue(conn)
        with _no_jit(conn):
            mode, counts = "incremental", _incremental(conn, ident, cfg, now, ids, addresses)
    upsert(conn, META, [{"key": "analysis_fingerprint", "value": fp}], keys=["key"], update=["value"])
    upsert(conn, META, [{"key": "analysis_at", "value": now.isoformat()}], keys=["key"], update=["value"])
    clear_analysis_error(conn)
    fl = FlagRow.__table__
    q = select(fl.c.kind, func.count()).where(fl.c.state == "open").group_by(fl.c.kind)
    flags = {kind: n for kind, n in conn.execute(q)}
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


# -- incremental ------------------------------------------------------------------------------


def _incremental(
    conn: Connection, ident: Identities, cfg: AnalysisConfig, now: datetime, ids: set[int], addresses: set[str]
) -> dict[str, int]:
    """``ids``, ``addresses``: the queue's message rows and addresses (``take_queue``)."""
    touched = {ident.canon(a) for a in addresses}
    keys: list[str] = []
    for chunk in chunks(sorted(ids)):
        keys += [k for (k,) in conn.execute(select(MSG.c.message_key).where(MSG.c.id.in_(chunk)))]
    keys = sorted(set(keys))
    new: dict[str, Fact] = {}
    rebroadcast: set[str] = set()
    if keys:
        old = stored_facts(conn, keys)
        new = merge_copies(copy_groups(conn, ident, keys), ident, now)
        touched |= _people(participants_of(conn, keys), new, old, ident)
        touched |= {f.sender for f in old.values()}
        touched |= _thread(conn, new)
        people, rebroadcast = _broadcasts(conn, ident, cfg, new, old)
        touched |= people
        write_facts(conn, [f.values() for f in new.values()])
        threads = sorted({f.thread_key for f in new.values() if f.outbound})
        for chunk in chunks(threads):
            q = select(FACT.c.sender).where(FACT.c.thread_key.in_(chunk), ~FACT.c.outbound).distinct()
            touched.update(s for (s,) in conn.execute(q))
    touched |= _due(conn, now)
    touched |= set(stored_failures(conn))  # tried again on every run until they evaluate
    contacts = touched - ident.me - {""}
    if not contacts:
        return {"messages": len(new), "contacts": 0}
    raw = raw_forms(ident, contacts)
    for chunk in chunks(sorted(contacts)):
        q = (
            select(ContactAddress.__table__.c.address)
            .join(Contact.__table__)
            .where(Contact.__table__.c.address.in_(chunk))
        )
        raw.update(a for (a,) in conn.execute(q))
    changed = set(keys) | rebroadcast
    stored = {i: a for a, i in contact_ids(conn, contacts).items()}
    history = contact_history(conn, stored, changed, cfg)
    rows, facts = changed_rows(conn, sorted(changed))
    datas = group_contacts(
        rows,
        facts,
        load_meetings(conn, ident, cfg, sorted(raw)),
        lambda threads: facts_by_thread(conn, sorted(threads)),
        ident,
        cfg,
        only=contacts,
        history=history.mails,
    )
    flagged = stored_flag_keys(conn, sorted(contacts))
    results = [evaluate_isolated(d, cfg, now, flagged) for d in datas]
    write_results(conn, results, now, scope=contacts, history=history)
    return {"messages": len(new), "contacts": len(results)}


def _people(
    rows: list[tuple[str, str, str]], new: dict[str, Fact], old: dict[str, Fact], ident: Identities
) -> set[str]:
    """The contacts these messages belong to, before and after: the sender of inbound mail, the
    recipients of mine.

    People only copied on someone else's mail to me are not in touch with me through it (see
    ``group_contacts``): re-evaluating them would change nothing, and on a busy corpus they are
    most of the touched set. A message with no fact either way keeps every participant.
    """
    out: set[str] = set()
    for key, role, addr in rows:
        facts = [f for f in (old.get(key), new.get(key)) if f is not None]
        if role == "from" or not facts or any(f.outbound for f in facts):
            out.add(ident.canon(addr))
    return out


def _thread(conn: Connection, new: dict[str, Fact]) -> set[str]:
    """Give new facts their thread; merge stored threads they connect. Returns touched senders."""
    nodes = sorted({n for f in new.values() for n in f.nodes})
    uf = UnionFind()
    existing: dict[str, str] = {}
    for chunk in chunks(nodes):
        existing.update(
            {a: b for a, b in conn.execute(select(NODE.c.node, NODE.c.thread_key).where(NODE.c.node.in_(chunk)))}
        )
    for node, key in existing.items():
        uf.union(node, key)
    for f in new.values():
        for n in f.nodes[1:]:
            uf.union(f.nodes[0], n)
    for f in new.values():
        f.thread_key = uf.find(f.key)
    touched: set[str] = set()
    for old_key in sorted(set(existing.values())):
        root = uf.find(old_key)
        if root != old_key:
            conn.execute(update(NODE).where(NODE.c.thread_key == old_key).values(thread_key=root))
            conn.execute(update(FACT).where(FACT.c.thread_key == old_key).values(thread_key=root))
            touched.update(
                s for (s,) in conn.execute(select(FACT.c.sender).where(FACT.c.thread_key == root).distinct())
            )
    # only what changed: rewriting a node as it is still dirties its pages (SQLite writes each
    # dirty page to the WAL at the commit and copies it again at the checkpoint)
    rows = [{"node": n, "thread_key": k} for n in nodes if existing.get(n) != (k := uf.find(n))]
    for chunk in chunks(rows, 5000):
        upsert(conn, NODE, list(chunk), keys=["node"], update=["thread_key"])
    return touched


def _broadcasts(
    conn: Connection, ident: Identities, cfg: AnalysisConfig, new: dict[str, Fact], old: dict[str, Fact]
) -> tuple[set[str], set[str]]:
    """Re-decide mail merges for the subjects of new outbound mail.

    Returns the recipients touched and the keys of the stored messages whose verdict changed.
    """
    # a message's merge verdict depends on mail within a day either side: two days either side of
    # each subject's new mail covers every window that can reach a message whose verdict may change
    reach = 2 * cfg.merge_window
    windows: dict[str, tuple[datetime, datetime]] = {}
    for f in (*new.values(), *old.values()):
        if f.outbound:
            lo, hi = windows.get(f.subject_norm, (f.time, f.time))
            windows[f.subject_norm] = (min(lo, f.time), max(hi, f.time))
    if not windows:
        return set(), set()
    group = facts_with_subjects(conn, {s: (lo - reach, hi + reach) for s, (lo, hi) in windows.items()})
    group.update({k: f for k, f in new.items() if f.outbound})
    recips = outbound_recipients(conn, ident, sorted(group))
    merged = mail_merges(
        (
            Outbound(k, f.time, f.subject_norm, recips.get(k, frozenset()), f.automated)
            for k, f in group.items()
            if f.counted
        ),
        cfg,
    )

    def trusted(f: Fact) -> bool:  # its every window was loaded: only these verdicts are written
        lo, hi = windows.get(f.subject_norm, (f.time, f.time))
        return lo - cfg.merge_window <= f.time <= hi + cfg.merge_window

    changed = [f for f in mark_broadcasts(group, merged, cfg) if f.key not in new and trusted(f)]
    for f in changed:
        conn.execute(update(FACT).where(FACT.c.message_key == f.key).values(broadcast=f.broadcast))
    # every recipient on every copy, as ``changed_rows`` reads them (``recips`` holds only the
    # copies sent from my own addresses): a recipient left out here would keep a stale
    # interaction row, since its message key is not re-read when it is next touched
    keys = sorted(f.key for f in changed)
    people = {ident.canon(a) for _key, role, a in participants_of(conn, keys) if role in ("to", "cc", "bcc")}
    return people, set(keys)


def _due(conn: Connection, now: datetime) -> set[str]:
    """Contacts the clock has moved: a stored next_check or a snooze that has come."""
    c, s, fl = Contact.__table__, ContactStat.__table__, FlagRow.__table__
    due = {
        a for (a,) in conn.execute(select(c.c.address).join(s, s.c.contact_id == c.c.id).where(s.c.next_check <= now))
    }
    due |= {
        a
        for (a,) in conn.execute(select(fl.c.contact_address).where(fl.c.state == "snoozed", fl.c.snoozed_until <= now))
    }
    return due


__all__ = ["REBUILD_MIN", "REBUILD_SHARE", "run"]
