"""The people queries of the web app: search, sort, filter and page contacts; read one person.

Every list is one statement with ``LIMIT``: a page of 50 people at 20k contacts reads 51 rows
through the sort, never the whole table. Search is a ``LIKE`` on ``contacts.search`` (name and
addresses with accents and case folded by the analysis), so both dialects behave alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, exists, func, literal, select

from kith.store.tables import CONTACT, CONTACT_ADDRESS, FACT, FLAG, INTERACTION, MAILBOX, MESSAGE, META, STAT

SORTS = ("attention", "strength", "last", "stage", "overdue", "name")


@dataclass(frozen=True, slots=True)
class PeopleQuery:
    """What the People page asks for; every field optional but the sort."""

    #: a ``LIKE`` pattern over the folded search key (``kith.analysis.search.like_pattern``)
    like: str | None = None
    sort: str = "attention"
    stage: str | None = None
    mailbox: str | None = None
    #: True: only automated senders; False: only people; None: both
    automated: bool | None = False
    offset: int = 0
    limit: int = 50


def _open_flags() -> Any:
    """Open flags per contact (a snooze whose date has come counts as open in the listings too,
    but the count here is of rows in the open state: a cheap, indexed number for sorting)."""
    return (
        select(FLAG.c.contact_address, func.count().label("n"))
        .where(FLAG.c.state == "open")
        .group_by(FLAG.c.contact_address)
        .subquery("open_flags")
    )


def _overdue(kind: str) -> Any:
    """Since when each contact is overdue: the ``since`` of its open flag of ``kind`` (the reconnect
    rule's own verdict: last interaction + its threshold)."""
    return (
        select(FLAG.c.contact_address, func.min(FLAG.c.since).label("since"))
        .where(FLAG.c.state == "open", FLAG.c.kind == kind)
        .group_by(FLAG.c.contact_address)
        .subquery("overdue")
    )


def people(
    conn: Connection, q: PeopleQuery, *, stage_order: Sequence[str], overdue_kind: str
) -> tuple[list[dict[str, Any]], bool]:
    """One page of contacts with their statistics; True when there is a next page.

    The analysis' vocabulary is handed in (the store may not import it): ``stage_order`` ranks
    the stages, ``overdue_kind`` is the flag kind that says a contact is overdue."""
    flags, overdue = _open_flags(), _overdue(overdue_kind)
    cols = [
        CONTACT.c.id,
        CONTACT.c.address,
        CONTACT.c.name,
        CONTACT.c.automated,
        STAT.c.stage,
        STAT.c.strength,
        STAT.c.last_interaction,
        STAT.c.cadence_days,
        STAT.c.personal_in,
        STAT.c.personal_out,
        STAT.c.meetings,
        func.coalesce(flags.c.n, 0).label("open_flags"),
        overdue.c.since.label("overdue_since"),
    ]
    stmt = (
        select(*cols)
        .select_from(CONTACT)
        .outerjoin(STAT, STAT.c.contact_id == CONTACT.c.id)
        .outerjoin(flags, flags.c.contact_address == CONTACT.c.address)
        .outerjoin(overdue, overdue.c.contact_address == CONTACT.c.address)
    )
    if q.like:
        stmt = stmt.where(CONTACT.c.search.like(q.like, escape="\\"))
    if q.automated is not None:
        stmt = stmt.where(CONTACT.c.automated == q.automated)
    if q.stage:
        stmt = stmt.where(STAT.c.stage == q.stage)
    if q.mailbox:
        # a contact is in a mailbox when one of its messages is stored there
        in_box = (
            select(literal(1))
            .select_from(
                INTERACTION.join(MESSAGE, MESSAGE.c.message_key == INTERACTION.c.message_key).join(
                    MAILBOX, MAILBOX.c.id == MESSAGE.c.mailbox_id
                )
            )
            .where(INTERACTION.c.contact_id == CONTACT.c.id, MAILBOX.c.name == q.mailbox)
        )
        stmt = stmt.where(exists(in_box))
    rank = case({s: i for i, s in enumerate(stage_order)}, value=STAT.c.stage, else_=len(stage_order))
    strength = func.coalesce(STAT.c.strength, 0)
    order: dict[str, list[Any]] = {
        "attention": [func.coalesce(flags.c.n, 0).desc(), CONTACT.c.automated, strength.desc()],
        "strength": [strength.desc()],
        "last": [STAT.c.last_interaction.is_(None), STAT.c.last_interaction.desc()],
        "stage": [rank, strength.desc()],
        "overdue": [overdue.c.since.is_(None), overdue.c.since, STAT.c.last_interaction],
        "name": [CONTACT.c.name == "", func.lower(CONTACT.c.name)],
    }
    stmt = stmt.order_by(*order.get(q.sort, order["attention"]), CONTACT.c.address)
    rows = [dict(r) for r in conn.execute(stmt.offset(q.offset).limit(q.limit + 1)).mappings()]
    return rows[: q.limit], len(rows) > q.limit


def mailbox_names(conn: Connection) -> list[str]:
    return [n for (n,) in conn.execute(select(MAILBOX.c.name).order_by(MAILBOX.c.name))]


def stage_counts(conn: Connection) -> dict[str, int]:
    """How many non-automated contacts are in each stage (the People page's filter labels)."""
    q = (
        select(STAT.c.stage, func.count())
        .join(CONTACT, CONTACT.c.id == STAT.c.contact_id)
        .where(~CONTACT.c.automated, STAT.c.stage.is_not(None))
        .group_by(STAT.c.stage)
    )
    return {s: n for s, n in conn.execute(q)}


def canonical(conn: Connection, address: str) -> str | None:
    """The contact that owns an address (any stored spelling), or None."""
    found = conn.execute(
        select(CONTACT.c.address)
        .join(CONTACT_ADDRESS, CONTACT_ADDRESS.c.contact_id == CONTACT.c.id)
        .where(CONTACT_ADDRESS.c.address == address)
    ).scalar()
    return found or conn.execute(select(CONTACT.c.address).where(CONTACT.c.address == address)).scalar()


def addresses_of(conn: Connection, address: str) -> list[str]:
    """Every stored spelling of a contact's addresses, the canonical one first."""
    q = (
        select(CONTACT_ADDRESS.c.address)
        .join(CONTACT, CONTACT.c.id == CONTACT_ADDRESS.c.contact_id)
        .where(CONTACT.c.address == address)
        .order_by(CONTACT_ADDRESS.c.address)
    )
    found = [a for (a,) in conn.execute(q)]
    return [address, *(a for a in found if a != address)]


def interactions_of(conn: Connection, address: str, since: datetime | None = None) -> list[tuple[Any, ...]]:
    """A contact's interactions, oldest first, each with its message's thread and Message-ID:
    (at, kind, personal, broadcast, message key, subject, thread key, Message-ID)."""
    q = (
        select(
            INTERACTION.c.at,
            INTERACTION.c.kind,
            INTERACTION.c.personal,
            INTERACTION.c.broadcast,
            INTERACTION.c.message_key,
            INTERACTION.c.subject,
            FACT.c.thread_key,
            FACT.c.message_id,
        )
        .select_from(INTERACTION.join(CONTACT, CONTACT.c.id == INTERACTION.c.contact_id))
        .outerjoin(FACT, FACT.c.message_key == INTERACTION.c.message_key)
        .where(CONTACT.c.address == address)
        .order_by(INTERACTION.c.at)
    )
    if since is not None:
        q = q.where(INTERACTION.c.at >= since)
    return [tuple(r) for r in conn.execute(q)]


def thread_sizes(conn: Connection, threads: Sequence[str]) -> dict[str, int]:
    """Messages per thread (counted ones: not deleted, not junk), for the threads given."""
    out: dict[str, int] = {}
    todo = sorted(set(threads))
    for i in range(0, len(todo), 500):
        chunk = todo[i : i + 500]
        q = (
            select(FACT.c.thread_key, func.count())
            .where(FACT.c.thread_key.in_(chunk), FACT.c.counted)
            .group_by(FACT.c.thread_key)
        )
        out.update({t: n for t, n in conn.execute(q)})
    return out


def analysed_at(conn: Connection) -> datetime | None:
    """When the analysis last ran (its ``now``): the moment the stored statistics describe."""
    value = conn.execute(select(META.c.value).where(META.c.key == "analysis_at")).scalar()
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def overdue_since(conn: Connection, address: str, *, kind: str) -> datetime | None:
    """Since when ``address`` is overdue: the ``since`` of its open flag of ``kind`` (see ``people``)."""
    q = select(func.min(FLAG.c.since)).where(
        and_(FLAG.c.contact_address == address, FLAG.c.state == "open", FLAG.c.kind == kind)
    )
    return conn.execute(q).scalar()


__all__ = [
    "SORTS",
    "PeopleQuery",
    "addresses_of",
    "analysed_at",
    "canonical",
    "interactions_of",
    "mailbox_names",
    "overdue_since",
    "people",
    "stage_counts",
    "thread_sizes",
]
