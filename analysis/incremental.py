"""The incremental analysis: only what the sync queued and the clock moved.

1. the queue (message rows and event addresses the sync touched), taken by ``kith.analysis.engine``;
2. those messages' facts are recomputed, merging thread components and re-deciding mail merges
   around them (which can touch contacts on *other* messages: the touched set grows with them);
3. the touched contacts are re-evaluated, plus those whose stored ``next_check`` has come.

All in the caller's transaction: a failed run leaves the queue as it was. The other path, the
rebuild, is ``kith.analysis.rebuild`` (writing) over ``rebuild_derive`` (deriving, inline or in
``rebuild_helper``'s process); both share the loaders, the rules and the writers.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from kith.analysis.broadcasts import Outbound, mail_merges
from kith.analysis.contacts import group_contacts
from kith.analysis.copies import copy_groups
from kith.analysis.evaluate import evaluate_isolated
from kith.analysis.facts import Fact, mark_broadcasts, merge_copies
from kith.analysis.identity import Identities
from kith.analysis.load import (
    changed_rows,
    contact_history,
    facts_by_thread,
    facts_with_subjects,
    load_meetings,
    outbound_recipients,
    raw_forms,
    stored_facts,
)
from kith.analysis.persist import stored_failures, write_results
from kith.analysis.threads import UnionFind
from kith.config.models import AnalysisConfig
from kith.store.analysis_reads import participants_of, stored_flag_keys
from kith.store.analysis_run import addresses_of_contacts, due_contacts
from kith.store.analysis_writes import contact_ids, write_facts
from kith.store.threads import (
    inbound_senders,
    merge_thread,
    message_keys,
    set_broadcast,
    thread_keys,
    write_thread_nodes,
)


def incremental(
    conn: Connection, ident: Identities, cfg: AnalysisConfig, now: datetime, ids: set[int], addresses: set[str]
) -> dict[str, int]:
    """``ids``, ``addresses``: the queue's message rows and addresses (``take_queue``)."""
    touched = {ident.canon(a) for a in addresses}
    keys = message_keys(conn, ids)
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
        touched |= inbound_senders(conn, threads)
    touched |= due_contacts(conn, now)
    touched |= set(stored_failures(conn))  # tried again on every run until they evaluate
    contacts = touched - ident.me - {""}
    if not contacts:
        return {"messages": len(new), "contacts": 0}
    raw = raw_forms(ident, contacts) | addresses_of_contacts(conn, contacts)
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
    existing = thread_keys(conn, nodes)
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
            touched |= merge_thread(conn, old_key, root)
    # only what changed (see ``write_thread_nodes``)
    write_thread_nodes(conn, [{"node": n, "thread_key": k} for n in nodes if existing.get(n) != (k := uf.find(n))])
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
    set_broadcast(conn, ((f.key, f.broadcast) for f in changed))
    # every recipient on every copy, as ``changed_rows`` reads them (``recips`` holds only the
    # copies sent from my own addresses): a recipient left out here would keep a stale
    # interaction row, since its message key is not re-read when it is next touched
    keys = sorted(f.key for f in changed)
    people = {ident.canon(a) for _key, role, a in participants_of(conn, keys) if role in ("to", "cc", "bcc")}
    return people, set(keys)


__all__ = ["incremental"]
