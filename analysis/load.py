"""Reading the store into the analysis' plain records (the I/O edge on the way in).

Every loader takes an optional filter (message keys, addresses); without one it reads all, which
is the rebuild. The same code therefore serves both paths, and the test that compares them
compares the rules, not two loaders.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Container, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from kith.analysis.facts import Fact, is_personal
from kith.analysis.identity import Identities
from kith.analysis.model import Mail, Meeting
from kith.config.models import AnalysisConfig
from kith.store.analysis_reads import (
    attendee_rows,
    contact_fact_rows,
    event_rows,
    events_of,
    fact_rows,
    history_rows,
    my_subject_times,
    my_thread_times,
    recipient_rows,
)
from kith.store.fastread import as_utc


def raw_forms(ident: Identities, canonical: Collection[str]) -> set[str]:
    """The stored spellings that map to these canonical addresses (aliases included)."""
    out = set(canonical)
    out.update(a for a, c in ident.aliases.items() if c in canonical)
    return out


def outbound_recipients(
    conn: Connection, ident: Identities, keys: Sequence[str] | None, *, only: Container[str] | None = None
) -> dict[str, frozenset[str]]:
    """message key → the people (not me) an outbound message went to; all my mail when ``keys`` is None.

    ``only``: keep just these keys (the rebuild reads all my mail but needs a few subjects').
    """
    found: dict[str, set[str]] = defaultdict(set)
    me_raw = sorted(raw_forms(ident, ident.me))
    if not me_raw:
        return {}
    for key, addr in recipient_rows(conn, me_raw, keys):
        if only is not None and key not in only:
            continue
        a = ident.canon(addr)
        if a and a not in ident.me:
            found[key].add(a)
    # most of my mail goes to one person or the same few: one frozenset per distinct set of
    # people, shared (a rebuild at 1M messages holds hundreds of thousands of these)
    shared: dict[frozenset[str], frozenset[str]] = {}
    out: dict[str, frozenset[str]] = {}
    while found:
        k, v = found.popitem()
        people = frozenset(v)
        out[k] = shared.setdefault(people, people)
    return out


def _stored_fact(r: Sequence[Any]) -> Fact:
    """A fact from a raw ``FACT_COLUMNS`` row (booleans come back as 0/1 from SQLite)."""
    return Fact(
        r[0],
        r[1],
        as_utc(r[2]),
        r[3],
        r[4],
        r[5],
        bool(r[6]),
        bool(r[7]),
        r[8],
        r[9],
        bool(r[10]),
        bool(r[11]),
        bool(r[12]),
        bool(r[13]),
        bool(r[14]),
        r[15],
        bool(r[16]),
    )


def stored_facts(conn: Connection, keys: Sequence[str]) -> dict[str, Fact]:
    """Facts as stored. Read raw and built positionally: the incremental path reads many."""
    out: dict[str, Fact] = {}
    for r in fact_rows(conn, keys):
        f = _stored_fact(r)
        out[f.key] = f
    return out


def changed_rows(
    conn: Connection, keys: Sequence[str]
) -> tuple[list[tuple[str, str, str, str | None]], dict[str, Fact]]:
    """``participant_rows`` of these messages that make contacts, and their counted facts.

    Only the rows ``group_contacts`` keeps: the sender of inbound mail, the recipients of mine.
    """
    rows: list[tuple[str, str, str, str | None]] = []
    facts: dict[str, Fact] = {}
    # the rebuild's order (``participant_rows``): a message's name for a contact is the first
    # its rows give, so the order decides it
    for r in contact_fact_rows(conn, keys):
        key = r[3]
        if key not in facts:
            facts[key] = _stored_fact(r[3:])
        rows.append((key, r[0], r[1], r[2]))
    return rows, facts


@dataclass
class History:
    """What an incremental run reads of its contacts' stored interactions, in one pass."""

    #: address -> message key -> mail: the contacts' mail but the messages the run changed
    mails: dict[str, dict[str, Mail]] = field(default_factory=lambda: defaultdict(dict))
    #: (contact id, message key) -> ids of the stored rows of messages the run did not change
    kept: dict[tuple[int, str], list[int]] = field(default_factory=lambda: defaultdict(list))
    #: ids of the stored rows the run derives anew: those of changed messages, and meetings
    reread: list[int] = field(default_factory=list)


def contact_history(
    conn: Connection, contacts: Mapping[int, str], changed: Container[str], cfg: AnalysisConfig
) -> History:
    """The stored history of these contacts (``contacts``: contact id -> canonical address).

    A stored interaction of a message whose fact the run did not rewrite is what the run would
    derive again, so a contact's history is its stored interactions, each with its message's
    fact as stored now (a thread merge rewrites that), plus the rows of the changed messages
    (``changed_rows``). Read by the (contact, message) index, a contact's history is one range
    of it and one read of a fact a message: 4x faster at 1M messages than the participant rows
    of every message by address, which cost four random reads a row. The mail is built straight
    from the row, as ``contacts.mail_of`` builds it from a fact; the row ids it finds on the way
    let ``persist.write_results`` write only what differs without reading the rows again.
    """
    out = History()
    for (
        iid,
        contact,
        kind,
        name,
        key,
        mid,
        at,
        subject,
        automated,
        why,
        recips,
        answered,
        counted,
        future,
        to_me,
        cc_me,
        thread,
        bc,
    ) in history_rows(conn, sorted(contacts)):
        if key is None or key in changed:
            out.reread.append(iid)
            continue
        out.kept[(contact, key)].append(iid)
        if not counted:  # no fact, or not an interaction: the row goes
            continue
        inbound = kind == "email_in"
        # positional, in field order: keywords cost three times as much (a mail a row)
        out.mails[contacts[contact]][key] = Mail(
            key,
            as_utc(at),
            inbound,
            is_personal(automated, recips, bc, cfg),
            bool(bc) and not inbound,
            bool(automated),
            bool(answered),
            thread,
            bool(to_me),
            bool(cc_me),
            mid,
            subject,
            bool(future),
            why,
            name or "",
        )
    return out


def facts_by_thread(conn: Connection, threads: Sequence[str]) -> dict[str, list[datetime]]:
    """My own (non-automated, counted) outbound times per thread."""
    out: dict[str, list[datetime]] = defaultdict(list)
    for t, at in my_thread_times(conn, threads):
        out[t].append(as_utc(at))
    return out


def facts_with_subjects(conn: Connection, windows: Mapping[str, tuple[datetime, datetime]]) -> dict[str, Fact]:
    """My outbound facts per subject inside that subject's time window (a mail merge's reach)."""
    keys = []
    for key, subject, at in my_subject_times(conn, sorted(windows)):
        lo, hi = windows[subject]
        if lo <= as_utc(at) <= hi:
            keys.append(key)
    return stored_facts(conn, keys)


def load_meetings(
    conn: Connection, ident: Identities, cfg: AnalysisConfig, raw_addresses: Sequence[str] | None = None
) -> dict[str, list[Meeting]]:
    """Meetings per contact (canonical address), one per event occurrence even if in two calendars."""
    ids = None if raw_addresses is None else sorted(events_of(conn, raw_addresses))
    people: dict[int, dict[str, str]] = defaultdict(dict)
    for eid, addr, partstat in attendee_rows(conn, ids):
        people[eid][ident.canon(addr)] = partstat
    out: dict[str, dict[str, Meeting]] = defaultdict(dict)
    for eid, uid, rid, start, summary, organizer, status, my_response, cancelled in event_rows(conn, ids):
        att = people.get(eid, {})
        org = ident.canon(organizer)
        mine = my_response or next((p for a, p in att.items() if a in ident.me), None)
        if mine is None and org in ident.me:
            mine = "ACCEPTED"
        counts = (
            (mine or "").upper() == "ACCEPTED"
            and not cancelled
            and (status or "").upper() != "CANCELLED"
            and len(att or {org: ""}) <= cfg.meeting_max_attendees
        )
        key = f"{uid}|{as_utc(rid).isoformat() if rid else ''}"
        for person in (set(att) | {org}) - ident.me - {""}:
            prev = out[person].get(key)
            if prev is None or (counts and not prev.counts):
                out[person][key] = Meeting(key, as_utc(start), counts, summary)
    return {p: list(v.values()) for p, v in out.items()}


__all__ = [
    "History",
    "changed_rows",
    "contact_history",
    "facts_by_thread",
    "facts_with_subjects",
    "load_meetings",
    "outbound_recipients",
    "raw_forms",
    "stored_facts",
]
