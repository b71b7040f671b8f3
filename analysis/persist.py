"""Writing the analysis' results (the I/O edge on the way out): contacts, interactions, stats, flags."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from kith.analysis.lifecycle import Stored, transitions
from kith.analysis.load import History
from kith.analysis.model import ContactResult
from kith.analysis.search import search_key
from kith.store.analysis_reads import FACT_COLUMNS, in_chunks
from kith.store.derived import Contact, ContactAddress, ContactStat, FlagEvent, FlagRow, Interaction, MailFact
from kith.store.fastread import as_utc, plain_rows
from kith.store.models import MetaRow
from kith.store.upsert import chunks, upsert, upsert_tuples

CONTACT = Contact.__table__
CADDR = ContactAddress.__table__
STAT = ContactStat.__table__
INTER = Interaction.__table__
FLAG = FlagRow.__table__
FEVENT = FlagEvent.__table__
FACT = MailFact.__table__
META = MetaRow.__table__

_STAT_COLUMNS = (
    "stage",
    "stage_evidence",
    "strength",
    "cadence_days",
    "personal_in",
    "personal_out",
    "broadcast_out",
    "meetings",
    "first_seen",
    "last_interaction",
    "my_reply_median_h",
    "my_reply_p90_h",
    "their_reply_median_h",
    "their_reply_p90_h",
    "reciprocity",
    "next_check",
)


def write_facts(conn: Connection, rows: Sequence[tuple[Any, ...]], *, fresh: bool = False) -> None:
    """Upsert facts given as ``Fact.values()`` tuples.

    ``fresh``: the table was just emptied, so plain inserts (no conflict to look for).
    """
    for chunk in chunks(rows, 5000):
        if fresh:
            upsert_tuples(conn, FACT, FACT_COLUMNS, chunk, keys=())
        else:
            upsert_tuples(conn, FACT, FACT_COLUMNS, chunk, keys=FACT_COLUMNS[:1], update=FACT_COLUMNS[1:])


def contact_ids(conn: Connection, addresses: Collection[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for clause in in_chunks(conn, CONTACT.c.address, sorted(set(addresses))):
        out.update(plain_rows(conn, select(CONTACT.c.address, CONTACT.c.id).where(clause)))
    return out


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
    # contact addresses stay upserts: an alias chain can give one spelling to two contacts
    contact_keys: tuple[str, ...] = () if fresh else ("address",)
    stat_keys: tuple[str, ...] = () if fresh else ("contact_id",)
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
    for chunk in chunks(rows, 5000):
        upsert(
            conn,
            CONTACT,
            list(chunk),
            keys=contact_keys,
            update=["name", "automated", "automated_why", "updated_at", "search"],
        )
    ids = contact_ids(conn, [r.address for r in results] + list(scope or ()))
    stored_interactions: dict[tuple[Any, ...], list[int]] = {}
    if scope is not None and not fresh:
        if history is None:
            raise ValueError("write_results: an incremental write needs the History its run read")
        stale = [ids[a] for a in scope if a in ids]
        stored_interactions = _stored_interactions(conn, history)
        for chunk in chunks(stale):
            conn.execute(delete(STAT).where(STAT.c.contact_id.in_(chunk)))
    addr_rows = [{"address": raw, "contact_id": ids[r.address]} for r in results for raw in sorted(r.raw_addresses)]
    for chunk in chunks(addr_rows, 5000):
        upsert(conn, CADDR, list(chunk), keys=["address"], update=["contact_id"])
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
    for chunk in chunks(gone):
        conn.execute(delete(INTER).where(INTER.c.id.in_(chunk)))
    for chunk in chunks(inter_rows, 10000):
        upsert_tuples(conn, INTER, _INTER_COLUMNS, chunk, keys=())
    stat_rows = [{"contact_id": ids[r.address], **{c: r.stats.get(c) for c in _STAT_COLUMNS}} for r in results]
    for chunk in chunks(stat_rows, 5000):
        upsert(conn, STAT, list(chunk), keys=stat_keys, update=list(_STAT_COLUMNS))
    if scope is not None and not fresh:
        # no mail and no meeting left (deleted, or in a folder that turned junk): no contact, as
        # after a rebuild; its timeline, statistics and spellings go with it, its flags stay
        evaluated = {r.address for r in results}
        for chunk in chunks(sorted(ids[a] for a in scope if a in ids and a not in evaluated)):
            conn.execute(delete(CONTACT).where(CONTACT.c.id.in_(chunk)))
    _write_flags(conn, results, now, scope, keep=failed)


#: ``kith_meta`` key of the contacts whose last evaluation failed: address -> {error, at}.
FAILURES_KEY = "analysis_failures"
#: At most this many failures are kept (each names one contact; status shows the count).
MAX_FAILURES = 1000


def stored_failures(conn: Connection) -> dict[str, Any]:
    value = conn.execute(select(META.c.value).where(META.c.key == FAILURES_KEY)).scalar()
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
    upsert(conn, META, [{"key": FAILURES_KEY, "value": current}], keys=["key"], update=["value"])


_INTER_COLUMNS = ("contact_id", "at", "kind", "personal", "broadcast", "message_key", "event_id", "subject", "name")


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
    cols = [INTER.c.id, *(INTER.c[c] for c in _INTER_COLUMNS)]
    for clause in in_chunks(conn, INTER.c.id, sorted(history.reread)):
        for iid, contact_id, at, kind, personal, broadcast, key, event, subject, name in plain_rows(
            conn, select(*cols).where(clause)
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
    cols = (
        FLAG.c.id,
        FLAG.c.kind,
        FLAG.c.key,
        FLAG.c.state,
        FLAG.c.evidence_mark,
        FLAG.c.snoozed_until,
        FLAG.c.contact_address,
    )
    if scope is None:
        clauses: list[Any] = [FLAG.c.state != "resolved"]
        # resolved flags can reopen: load those of the contacts that have findings
        wanted = sorted({r.address for r in results if r.findings})
        clauses += [FLAG.c.contact_address.in_(c) & (FLAG.c.state == "resolved") for c in chunks(wanted)]
    else:
        clauses = [FLAG.c.contact_address.in_(c) for c in chunks(sorted(scope))]
    for clause in clauses:
        for fid, kind, key, state, mark, until, contact in conn.execute(select(*cols).where(clause)):
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
            conn.execute(update(FLAG).where(FLAG.c.id == fid).values(**values))
    for chunk in chunks(new_rows, 2000):
        conn.execute(insert(FLAG), list(chunk))
    new_keys = [k for k, _, _ in history if isinstance(k, str)]
    ids: dict[str, int] = {}
    for chunk in chunks(new_keys):
        ids.update({a: b for a, b in conn.execute(select(FLAG.c.key, FLAG.c.id).where(FLAG.c.key.in_(chunk)))})
    events = [
        {"flag_id": ids[k] if isinstance(k, str) else k, "at": now, "state": state, "reason": reason}
        for k, state, reason in history
    ]
    for chunk in chunks(events, 5000):
        conn.execute(insert(FEVENT), list(chunk))


__all__ = [
    "FAILURES_KEY",
    "contact_ids",
    "record_failures",
    "stored_failures",
    "write_facts",
    "write_results",
]
