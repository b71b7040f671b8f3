"""Writing the analysis' results (the I/O edge on the way out): contacts, interactions, stats, flags."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from kith.analysis.lifecycle import Stored, transitions
from kith.analysis.load import History
from kith.analysis.model import ContactResult
from kith.analysis.search import search_key
from kith.store.analysis_writes import (
    STAT_COLUMNS,
    contact_ids,
    delete_contacts,
    delete_interactions,
    delete_stats,
    flag_ids,
    insert_flag_events,
    insert_flags,
    interactions_by_id,
    meta_value,
    set_meta_value,
    stored_flags,
    update_flag,
    write_contact_addresses,
    write_contacts,
    write_interactions,
    write_stats,
)
from kith.store.fastread import as_utc


def write_results(
    conn: Connection,
    results: Sequence[ContactResult],
    now: datetime,
    *,
    scope: Collection[str] | None,
    fresh: bool = False,
    history: History | None = None,
) -> None:
    """Replace what is stored for the contacts in ``scope`` (None: everyone) with ``results``.

    ``fresh``: a rebuild emptied contacts, interactions and statistics and writes each contact
    once, so there is nothing to delete or to conflict with: plain inserts.
    ``history``: what an incremental run read of the stored interactions of ``scope`` (see
    ``load.contact_history``); required unless ``fresh``.
    """
    failed = {r.address: r.failed for r in results if r.failed}
    record_failures(conn, failed, [r.address for r in results if not r.failed], now)
    if failed:  # what is stored for them stays as it was (kith.analysis.evaluate.evaluate_isolated)
        results = [r for r in results if not r.failed]
        scope = None if scope is None else [a for a in scope if a not in failed]
    rows = [
        {
            "address": r.address,
            "name": r.name[:500],
            "automated": r.automated,
            "automated_why": r.automated_why,
            "updated_at": now,
            "search": search_key(r.name, r.raw_addresses | {r.address}),
        }
        for r in results
    ]
    write_contacts(conn, rows, fresh=fresh)
    ids = contact_ids(conn, [r.address for r in results] + list(scope or ()))
    stored_interactions: dict[tuple[Any, ...], list[int]] = {}
    if scope is not None and not fresh:
        if history is None:
            raise ValueError("write_results: an incremental write needs the History its run read")
        stale = [ids[a] for a in scope if a in ids]
        stored_interactions = _stored_interactions(conn, history)
        delete_stats(conn, stale)
    addr_rows = [{"address": raw, "contact_id": ids[r.address]} for r in results for raw in sorted(r.raw_addresses)]
    write_contact_addresses(conn, addr_rows)
    inter_rows = []
    for r in results:
        contact_id = ids[r.address]
        for at, kind, personal, broadcast, key, event, subject, name in r.interactions:
            # stored already, exactly so: leave the row alone (looked up by message first, which
            # is nearly every row of an incremental run, before the row is made)
            if stored_interactions and key is not None and (kept := stored_interactions.get((contact_id, key))):
                kept.pop()
                continue
            row = (contact_id, at, kind, personal, broadcast, key, event, (subject or "")[:2000] or None, name or None)
            if stored_interactions and (kept := stored_interactions.get(row)):
                kept.pop()
                continue
            inter_rows.append(row)
    gone = sorted(i for left in stored_interactions.values() for i in left)
    delete_interactions(conn, gone)
    write_interactions(conn, inter_rows)
    stat_rows = [{"contact_id": ids[r.address], **{c: r.stats.get(c) for c in STAT_COLUMNS}} for r in results]
    write_stats(conn, stat_rows, fresh=fresh)
    if scope is not None and not fresh:
        # no mail and no meeting left (deleted, or in a folder that turned junk): no contact, as
        # after a rebuild; its timeline, statistics and spellings go with it, its flags stay
        evaluated = {r.address for r in results}
        delete_contacts(conn, sorted(ids[a] for a in scope if a in ids and a not in evaluated))
    _write_flags(conn, results, now, scope, keep=failed)


#: ``kith_meta`` key of the contacts whose last evaluation failed: address -> {error, at}.
FAILURES_KEY = "analysis_failures"
#: At most this many failures are kept (each names one contact; status shows the count).
MAX_FAILURES = 1000


def stored_failures(conn: Connection) -> dict[str, Any]:
    value = meta_value(conn, FAILURES_KEY)
    return dict(value) if isinstance(value, dict) else {}


def record_failures(
    conn: Connection, failed: Mapping[str, str], evaluated: Collection[str], now: datetime, *, reset: bool = False
) -> None:
    """Keep the contacts whose evaluation failed (for ``kith status`` and the next run's retry);
    forget those evaluated well since. ``reset``: a rebuild starts from none."""
    if not failed and not reset:
        if not evaluated:
            return
        known = stored_failures(conn)
        if not known or not any(a in known for a in evaluated):
            return
    current = {} if reset else stored_failures(conn)
    for a in evaluated:
        current.pop(a, None)
    current.update({a: {"error": why, "at": now.isoformat()} for a, why in failed.items()})
    if len(current) > MAX_FAILURES:
        current = dict(sorted(current.items())[:MAX_FAILURES])
    set_meta_value(conn, FAILURES_KEY, current)


def _stored_interactions(conn: Connection, history: History) -> dict[tuple[Any, ...], list[int]]:
    """The stored interactions of the run's contacts: row values -> ids (a multiset).

    An incremental run re-derives a touched contact's whole history, but nearly all of it is
    what is stored already; rewriting it cost a third of the run (measured at 100k messages:
    deleting and inserting 67k rows for 1k new messages). Only the difference is written.

    The rows of messages the run did not change are keyed by (contact id, message key) alone:
    each was derived from a fact the run did not touch, so it is what the run derives again.
    Only the rows of changed messages and meetings are read whole.
    """
    out: dict[tuple[Any, ...], list[int]] = defaultdict(list, history.kept)
    for iid, contact_id, at, kind, personal, broadcast, key, event, subject, name in interactions_by_id(
        conn, sorted(history.reread)
    ):
        out[(contact_id, as_utc(at), kind, bool(personal), bool(broadcast), key, event, subject, name)].append(iid)
    return out


def _write_flags(
    conn: Connection,
    results: Sequence[ContactResult],
    now: datetime,
    scope: Collection[str] | None,
    *,
    keep: Collection[str] = (),
) -> None:
    stored: dict[str, dict[str, Stored]] = defaultdict(dict)
    # resolved flags can reopen: with no scope (a rebuild), those of the contacts with findings
    reopenable = sorted({r.address for r in results if r.findings}) if scope is None else []
    for fid, kind, key, state, mark, until, contact in stored_flags(
        conn, None if scope is None else sorted(scope), reopenable
    ):
        stored[contact][key] = Stored(fid, kind, key, state, mark or "", until)
    by_contact = {r.address: r for r in results}
    history: list[tuple[int | str, str, str]] = []
    new_rows: list[dict[str, Any]] = []
    for contact in (set(by_contact) | set(stored)) - set(keep):
        r = by_contact.get(contact)
        ch = transitions(contact, r.findings if r else [], stored.get(contact, {}), now)
        new_rows += ch.insert
        history += ch.history
        for fid, values in ch.update.items():
            update_flag(conn, fid, values)
    insert_flags(conn, new_rows)
    ids = flag_ids(conn, [k for k, _, _ in history if isinstance(k, str)])
    events = [
        {"flag_id": ids[k] if isinstance(k, str) else k, "at": now, "state": state, "reason": reason}
        for k, state, reason in history
    ]
    insert_flag_events(conn, events)


__all__ = [
    "FAILURES_KEY",
    "record_failures",
    "stored_failures",
    "write_results",
]
