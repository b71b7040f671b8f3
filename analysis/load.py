"""Reading the store into the analysis' plain records (the I/O edge on the way in).

Every loader takes an optional filter (message keys, addresses); without one it reads all, which
is the rebuild. The same code therefore serves both paths, and the test that compares them
compares the rules, not two loaders.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, String, select, type_coerce

from kith.analysis.facts import Copy, Fact
from kith.analysis.identity import Identities
from kith.analysis.model import Meeting
from kith.config.models import AnalysisConfig
from kith.store.derived import MailFact
from kith.store.models import EventAttendee, EventRow, MessageLocation, MessageParticipant, MessageRow, StreamRow
from kith.store.upsert import chunks

MSG = MessageRow.__table__
LOC = MessageLocation.__table__
PART = MessageParticipant.__table__
STREAM = StreamRow.__table__
EVT = EventRow.__table__
ATT = EventAttendee.__table__
FACT = MailFact.__table__
HEADER_COLUMNS = ("list_id", "list_unsubscribe", "list_post", "precedence", "auto_submitted", "return_path")


def raw_forms(ident: Identities, canonical: Collection[str]) -> set[str]:
    """The stored spellings that map to these canonical addresses (aliases included)."""
    out = set(canonical)
    out.update(a for a, c in ident.aliases.items() if c in canonical)
    return out


def _in(column: Any, values: Sequence[Any] | None) -> Iterator[Any]:
    """WHERE clauses for ``values`` in chunks; one clause that is always true when None."""
    if values is None:
        yield None
        return
    for chunk in chunks(list(values)):
        yield column.in_(chunk)


def copy_groups(conn: Connection, ident: Identities, keys: Sequence[str] | None = None) -> Iterator[list[Copy]]:
    """The copies of each message, one list per message key, streamed in key order.

    Locations and "am I in To/Cc" are small and read first; the messages themselves stream, so a
    rebuild never holds more than one message's copies besides the facts it keeps.
    """
    ids: list[int] | None = None
    if keys is not None:
        ids = []
        for clause in _in(MSG.c.message_key, keys):
            ids += [i for (i,) in conn.execute(select(MSG.c.id).where(clause))]
    where: dict[int, list[str]] = {}
    loc = select(LOC.c.message_id, LOC.c.flags, LOC.c.labels, STREAM.c.role).join(
        STREAM, STREAM.c.id == LOC.c.stream_id
    )
    for clause in _in(LOC.c.message_id, ids):
        for mid, flags, labels, role in conn.execute(loc if clause is None else loc.where(clause)):
            got = where.get(mid)
            if got is None:
                where[mid] = [flags or "", labels or "", role]
            else:
                got[0] = f"{got[0]} {flags or ''}"
                got[1] = f"{got[1]} {labels or ''}"
                got[2] = f"{got[2]} {role}"
    to_me: set[int] = set()
    cc_me: set[int] = set()
    me_raw = sorted(raw_forms(ident, ident.me))
    if me_raw:
        q = select(PART.c.message_id, PART.c.role).where(PART.c.address.in_(me_raw), PART.c.role.in_(("to", "cc")))
        for mid, role in conn.execute(q):
            (to_me if role == "to" else cc_me).add(mid)
    cols = [
        MSG.c.id,
        MSG.c.mailbox_id,
        MSG.c.message_key,
        MSG.c.message_id,
        MSG.c.thread_id,
        MSG.c.in_reply_to,
        MSG.c.references,
        MSG.c.subject,
        MSG.c.date,
        MSG.c.received,
        MSG.c.from_addr,
        *(MSG.c[h] for h in HEADER_COLUMNS),
        MSG.c.recipient_count,
        MSG.c.deleted_at,
    ]
    for clause in _in(MSG.c.message_key, keys):
        q = select(*cols).order_by(MSG.c.message_key, MSG.c.id)
        if clause is not None:
            q = q.where(clause)
        group: list[Copy] = []
        for r in conn.execute(q.execution_options(yield_per=5000)):
            if group and r[2] != group[0].key:
                yield group
                group = []
            flags, labels, roles = where.get(r[0], ("", "", ""))
            group.append(
                Copy(
                    row_id=r[0],
                    mailbox_id=r[1],
                    key=r[2],
                    message_id=r[3],
                    thread_id=r[4],
                    in_reply_to=r[5],
                    references=r[6],
                    subject=r[7],
                    date=r[8],
                    received=r[9],
                    from_addr=r[10],
                    headers=tuple(r[11:17]),
                    recipients=r[17] or 0,
                    deleted=r[18] is not None,
                    flags=flags,
                    labels=labels,
                    roles=roles,
                    to_me=r[0] in to_me,
                    cc_me=r[0] in cc_me,
                )
            )
        if group:
            yield group


def outbound_recipients(conn: Connection, ident: Identities, keys: Sequence[str] | None) -> dict[str, frozenset[str]]:
    """message key → the people (not me) an outbound message went to; all my mail when ``keys`` is None."""
    found: dict[str, set[str]] = defaultdict(set)
    me_raw = sorted(raw_forms(ident, ident.me))
    if not me_raw:
        return {}
    base = (
        select(MSG.c.message_key, PART.c.address)
        .join(MSG, MSG.c.id == PART.c.message_id)
        .where(PART.c.role.in_(("to", "cc", "bcc")), MSG.c.from_addr.in_(me_raw))
    )
    for clause in _in(MSG.c.message_key, keys):
        for key, addr in conn.execute(base if clause is None else base.where(clause)):
            a = ident.canon(addr)
            if a and a not in ident.me:
                found[key].add(a)
    return {k: frozenset(v) for k, v in found.items()}


def participant_rows(
    conn: Connection, raw_addresses: Sequence[str] | None
) -> Iterator[tuple[str, str, str, str | None]]:
    """(message key, role, address, display name) of live messages, for the given addresses or all."""
    base = (
        select(MSG.c.message_key, PART.c.role, PART.c.address, PART.c.name)
        .join(MSG, MSG.c.id == PART.c.message_id)
        .where(MSG.c.deleted_at.is_(None), PART.c.role.in_(("from", "to", "cc", "bcc")))
    )
    for clause in _in(PART.c.address, raw_addresses):
        for r in conn.execute(base if clause is None else base.where(clause)):
            yield (r[0], r[1], r[2], r[3])


def participants_of(conn: Connection, keys: Sequence[str]) -> set[str]:
    """Every address on these messages (any copy, deleted or not)."""
    found: set[str] = set()
    q = select(PART.c.address).join(MSG, MSG.c.id == PART.c.message_id).distinct()
    for clause in _in(MSG.c.message_key, keys):
        found.update(a for (a,) in conn.execute(q.where(clause)))
    return found


def _utc(value: Any) -> datetime:
    """A stored naive-UTC time as read raw (SQLite text, PostgreSQL naive datetime), made aware."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC)


def stored_facts(conn: Connection, keys: Sequence[str]) -> dict[str, Fact]:
    """Facts as stored. Read raw and built positionally: the incremental path reads many."""
    out: dict[str, Fact] = {}
    cols = [type_coerce(FACT.c[n], String) if n == "time" else FACT.c[n] for n in _FACT_FIELDS]
    for clause in _in(FACT.c.message_key, keys):
        for r in conn.execute(select(*cols).where(clause)):
            f = Fact(*r)
            f.time = _utc(f.time)
            out[f.key] = f
    return out


_FACT_FIELDS = (
    "message_key",
    "message_id",
    "time",
    "sender",
    "subject",
    "subject_norm",
    "outbound",
    "automated",
    "automated_why",
    "recipients",
    "answered",
    "counted",
    "future",
    "to_me",
    "cc_me",
    "thread_key",
    "broadcast",
)


def facts_by_thread(conn: Connection, threads: Sequence[str]) -> dict[str, list[datetime]]:
    """My own (non-automated, counted) outbound times per thread."""
    out: dict[str, list[datetime]] = defaultdict(list)
    q = select(FACT.c.thread_key, FACT.c.time).where(FACT.c.outbound, ~FACT.c.automated, FACT.c.counted)
    for clause in _in(FACT.c.thread_key, threads):
        for t, at in conn.execute(q.where(clause)):
            out[t].append(at)
    return out


def facts_with_subjects(conn: Connection, windows: Mapping[str, tuple[datetime, datetime]]) -> dict[str, Fact]:
    """My outbound facts per subject inside that subject's time window (a mail merge's reach)."""
    keys = []
    for clause in _in(FACT.c.subject_norm, sorted(windows)):
        q = select(FACT.c.message_key, FACT.c.subject_norm, type_coerce(FACT.c.time, String)).where(
            clause, FACT.c.outbound
        )
        for key, subject, at in conn.execute(q):
            lo, hi = windows[subject]
            if lo <= _utc(at) <= hi:
                keys.append(key)
    return stored_facts(conn, keys)


def load_meetings(
    conn: Connection, ident: Identities, cfg: AnalysisConfig, raw_addresses: Sequence[str] | None = None
) -> dict[str, list[Meeting]]:
    """Meetings per contact (canonical address), one per event occurrence even if in two calendars."""
    ids: set[int] | None = None
    if raw_addresses is not None:
        ids = set()
        for clause in _in(ATT.c.address, raw_addresses):
            ids.update(i for (i,) in conn.execute(select(ATT.c.event_id).where(clause)))
        for clause in _in(EVT.c.organizer_addr, raw_addresses):
            ids.update(i for (i,) in conn.execute(select(EVT.c.id).where(clause)))
    people: dict[int, dict[str, str]] = defaultdict(dict)
    q = select(ATT.c.event_id, ATT.c.address, ATT.c.partstat)
    for clause in _in(ATT.c.event_id, sorted(ids) if ids is not None else None):
        for eid, addr, partstat in conn.execute(q if clause is None else q.where(clause)):
            people[eid][ident.canon(addr)] = partstat
    cols = (EVT.c.id, EVT.c.uid, EVT.c.recurrence_id, EVT.c.start, EVT.c.summary, EVT.c.organizer_addr)
    q2 = select(*cols, EVT.c.status, EVT.c.my_response, EVT.c.cancelled)
    out: dict[str, dict[str, Meeting]] = defaultdict(dict)
    for clause in _in(EVT.c.id, sorted(ids) if ids is not None else None):
        for eid, uid, rid, start, summary, organizer, status, my_response, cancelled in conn.execute(
            q2 if clause is None else q2.where(clause)
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
            key = f"{uid}|{rid.isoformat() if rid else ''}"
            for person in (set(att) | {org}) - ident.me - {""}:
                prev = out[person].get(key)
                if prev is None or (counts and not prev.counts):
                    out[person][key] = Meeting(key, start, counts, summary)
    return {p: list(v.values()) for p, v in out.items()}


__all__ = [
    "facts_by_thread",
    "facts_with_subjects",
    "copy_groups",
    "load_meetings",
    "outbound_recipients",
    "participant_rows",
    "participants_of",
    "raw_forms",
    "stored_facts",
]
