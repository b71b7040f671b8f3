"""Reading the store into the analysis' plain records (the I/O edge on the way in).

Every loader takes an optional filter (message keys, addresses); without one it reads all, which
is the rebuild. The same code therefore serves both paths, and the test that compares them
compares the rules, not two loaders.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Container, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, select, true

from kith.analysis.facts import FACT_COLUMNS, Fact, is_personal
from kith.analysis.identity import Identities
from kith.analysis.model import Mail, Meeting
from kith.config.models import AnalysisConfig
from kith.store.derived import FlagRow, Interaction, MailFact
from kith.store.fastread import as_utc, list_parameters, plain_rows
from kith.store.models import EventAttendee, EventRow, MessageLocation, MessageParticipant, MessageRow, StreamRow
from kith.store.upsert import CHUNK, chunks

MSG = MessageRow.__table__
LOC = MessageLocation.__table__
PART = MessageParticipant.__table__
STREAM = StreamRow.__table__
EVT = EventRow.__table__
ATT = EventAttendee.__table__
FACT = MailFact.__table__
INTER = Interaction.__table__
FLAG = FlagRow.__table__
HEADER_COLUMNS = ("list_id", "list_unsubscribe", "list_post", "precedence", "auto_submitted", "return_path")


def raw_forms(ident: Identities, canonical: Collection[str]) -> set[str]:
    """The stored spellings that map to these canonical addresses (aliases included)."""
    out = set(canonical)
    out.update(a for a, c in ident.aliases.items() if c in canonical)
    return out


#: Values per ``IN`` list where ``plain_rows`` passes a list as one parameter: a chunk of
#: SQLite's bound-variable size made an incremental run at 1M messages 64 queries for one read.
LIST_CHUNK = 10_000


def in_chunks(conn: Connection, column: Any, values: Sequence[Any]) -> Iterator[Any]:
    """``column IN (...)`` clauses for ``values``, a bounded number at a time (for ``plain_rows``)."""
    for chunk in chunks(list(values), LIST_CHUNK if list_parameters(conn) else CHUNK):
        yield column.in_(chunk)


def _in(conn: Connection, column: Any, values: Sequence[Any] | None) -> Iterator[Any]:
    """``in_chunks``, or one ``None`` clause (no filter) when ``values`` is None."""
    if values is None:
        yield None
        return
    yield from in_chunks(conn, column, values)


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
    base = (
        select(MSG.c.message_key, PART.c.address)
        .join(MSG, MSG.c.id == PART.c.message_id)
        .where(PART.c.role.in_(("to", "cc", "bcc")), MSG.c.from_addr.in_(me_raw))
    )
    for clause in _in(conn, MSG.c.message_key, keys):
        for key, addr in plain_rows(conn, base if clause is None else base.where(clause), stream=True):
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


def participant_rows(conn: Connection) -> Iterator[tuple[str, str, str, str | None]]:
    """(message key, role, address, display name) of every live message, in (message, role,
    position) order: the order decides a message's name for a contact (``group_contacts``)."""
    q = (
        select(MSG.c.message_key, PART.c.role, PART.c.address, PART.c.name)
        .join(MSG, MSG.c.id == PART.c.message_id)
        .where(MSG.c.deleted_at.is_(None), PART.c.role.in_(("from", "to", "cc", "bcc")))
        .order_by(PART.c.message_id, PART.c.role, PART.c.position)
    )
    yield from plain_rows(conn, q, stream=True)


def participants_of(conn: Connection, keys: Sequence[str]) -> list[tuple[str, str, str]]:
    """(message key, role, address) of every participant of these messages (any copy, deleted or not)."""
    found: list[tuple[str, str, str]] = []
    q = select(MSG.c.message_key, PART.c.role, PART.c.address).join(MSG, MSG.c.id == PART.c.message_id)
    for clause in _in(conn, MSG.c.message_key, keys):
        found += plain_rows(conn, q.where(clause))
    return found


def _stored_fact(r: Sequence[Any]) -> Fact:
    """A fact from a raw ``_FACT_FIELDS`` row (booleans come back as 0/1 from SQLite)."""
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
    cols = [FACT.c[n] for n in _FACT_FIELDS]
    for clause in _in(conn, FACT.c.message_key, keys):
        for r in plain_rows(conn, select(*cols).where(clause)):
            f = _stored_fact(r)
            out[f.key] = f
    return out


def changed_rows(
    conn: Connection, keys: Sequence[str]
) -> tuple[list[tuple[str, str, str, str | None]], dict[str, Fact]]:
    """``participant_rows`` of these messages that make contacts, and their counted facts.

    Only the rows ``group_contacts`` keeps: the sender of inbound mail, the recipients of mine.
    """
    cols = [PART.c.role, PART.c.address, PART.c.name, *(FACT.c[n] for n in _FACT_FIELDS)]
    base = (
        select(*cols)
        .join(MSG, MSG.c.id == PART.c.message_id)
        .join(FACT, FACT.c.message_key == MSG.c.message_key)
        .where(
            MSG.c.deleted_at.is_(None),
            FACT.c.counted,
            ((PART.c.role == "from") & ~FACT.c.outbound) | (PART.c.role.in_(("to", "cc", "bcc")) & FACT.c.outbound),
        )
    )
    rows: list[tuple[str, str, str, str | None]] = []
    facts: dict[str, Fact] = {}
    for clause in _in(conn, MSG.c.message_key, keys):
        # the rebuild's order (``participant_rows``): a message's name for a contact is the
        # first its rows give, so the order decides it
        q = base.where(clause).order_by(PART.c.message_id, PART.c.role, PART.c.position)
        for r in plain_rows(conn, q):
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
    cols = [INTER.c.id, INTER.c.contact_id, INTER.c.kind, INTER.c.name, INTER.c.message_key]
    base = _with_facts(conn, cols)
    out = History()
    for clause in in_chunks(conn, INTER.c.contact_id, sorted(contacts)):
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
        ) in plain_rows(conn, base.where(clause), ahead=True):
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


def _with_facts(conn: Connection, cols: list[Any]) -> Select[Any]:
    """``cols`` of the interactions with the ``_MAIL_FIELDS`` of each one's fact (NULLs for a meeting).

    A plain outer join on SQLite, which looks each fact up by its key. PostgreSQL would rather
    hash the whole fact table for it (its default costs take each key lookup for a random read
    from disk; measured at 1M messages: 0.5 s a query of 50k rows, spilling to disk); a lateral
    subquery kept apart by its ``OFFSET 0`` makes it look them up instead: 0.12 s.
    """
    if conn.dialect.name != "postgresql":
        on = FACT.c.message_key == INTER.c.message_key
        return select(*cols, *(FACT.c[n] for n in _MAIL_FIELDS)).join(FACT, on, isouter=True)
    fact = (
        select(*(FACT.c[n] for n in _MAIL_FIELDS))
        .where(FACT.c.message_key == INTER.c.message_key)
        .offset(0)
        .lateral("fact")
    )
    return select(*cols, *(fact.c[n] for n in _MAIL_FIELDS)).select_from(INTER.outerjoin(fact, true()))


_FACT_FIELDS = FACT_COLUMNS
#: What ``contact_history`` reads of a fact: what a contact's mail needs.
_MAIL_FIELDS = tuple(f for f in _FACT_FIELDS if f not in ("message_key", "sender", "subject_norm", "outbound"))


def facts_by_thread(conn: Connection, threads: Sequence[str]) -> dict[str, list[datetime]]:
    """My own (non-automated, counted) outbound times per thread."""
    out: dict[str, list[datetime]] = defaultdict(list)
    q = select(FACT.c.thread_key, FACT.c.time).where(FACT.c.outbound, ~FACT.c.automated, FACT.c.counted)
    for clause in _in(conn, FACT.c.thread_key, threads):
        for t, at in plain_rows(conn, q.where(clause)):
            out[t].append(as_utc(at))
    return out


def facts_with_subjects(conn: Connection, windows: Mapping[str, tuple[datetime, datetime]]) -> dict[str, Fact]:
    """My outbound facts per subject inside that subject's time window (a mail merge's reach)."""
    keys = []
    for clause in _in(conn, FACT.c.subject_norm, sorted(windows)):
        q = select(FACT.c.message_key, FACT.c.subject_norm, FACT.c.time).where(clause, FACT.c.outbound)
        for key, subject, at in plain_rows(conn, q):
            lo, hi = windows[subject]
            if lo <= as_utc(at) <= hi:
                keys.append(key)
    return stored_facts(conn, keys)


def stored_flag_keys(conn: Connection, contacts: Sequence[str] | None = None) -> set[str]:
    """Keys of the stored flags (of these contacts, or everyone's): a resolved finding can only
    lend its reason to one of them (``lifecycle.transitions``), so the rules make just those.
    All states, not only open and snoozed: a user may snooze a flag while a rebuild runs, but
    only the analysis makes keys."""
    out: set[str] = set()
    for clause in _in(conn, FLAG.c.contact_address, contacts):
        q = select(FLAG.c.key)
        out.update(k for (k,) in plain_rows(conn, q if clause is None else q.where(clause)))
    return out


def load_meetings(
    conn: Connection, ident: Identities, cfg: AnalysisConfig, raw_addresses: Sequence[str] | None = None
) -> dict[str, list[Meeting]]:
    """Meetings per contact (canonical address), one per event occurrence even if in two calendars."""
    ids: set[int] | None = None
    if raw_addresses is not None:
        ids = set()
        for clause in _in(conn, ATT.c.address, raw_addresses):
            ids.update(i for (i,) in plain_rows(conn, select(ATT.c.event_id).where(clause)))
        for clause in _in(conn, EVT.c.organizer_addr, raw_addresses):
            ids.update(i for (i,) in plain_rows(conn, select(EVT.c.id).where(clause)))
    people: dict[int, dict[str, str]] = defaultdict(dict)
    q = select(ATT.c.event_id, ATT.c.address, ATT.c.partstat)
    for clause in _in(conn, ATT.c.event_id, sorted(ids) if ids is not None else None):
        for eid, addr, partstat in plain_rows(conn, q if clause is None else q.where(clause)):
            people[eid][ident.canon(addr)] = partstat
    cols = (EVT.c.id, EVT.c.uid, EVT.c.recurrence_id, EVT.c.start, EVT.c.summary, EVT.c.organizer_addr)
    q2 = select(*cols, EVT.c.status, EVT.c.my_response, EVT.c.cancelled)
    out: dict[str, dict[str, Meeting]] = defaultdict(dict)
    for clause in _in(conn, EVT.c.id, sorted(ids) if ids is not None else None):
        for eid, uid, rid, start, summary, organizer, status, my_response, cancelled in plain_rows(
            conn, q2 if clause is None else q2.where(clause)
        ):
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
    "changed_rows",
    "History",
    "contact_history",
    "facts_by_thread",
    "facts_with_subjects",
    "stored_flag_keys",
    "in_chunks",
    "load_meetings",
    "outbound_recipients",
    "participant_rows",
    "participants_of",
    "raw_forms",
    "stored_facts",
]
