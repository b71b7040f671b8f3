"""Per-message facts: one logical message (all its copies across mailboxes) as the rules see it.

Copies of one Message-ID in several of my mailboxes or folders become one fact: counted if any
live copy sits in a folder that holds interactions, answered if any copy carries \\Answered, and
with the largest recipient list (my Sent copy knows the Bcc).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from kith.analysis.broadcasts import norm_subject
from kith.analysis.classify import automated_reason
from kith.analysis.identity import Identities
from kith.analysis.threads import message_nodes
from kith.config.models import AnalysisConfig
from kith.store.analysis_reads import FACT_COLUMNS

#: Folders whose messages are not interactions (DESIGN: junk, trash, drafts).
NOT_INTERACTIONS = frozenset({"junk", "trash", "drafts"})
#: A Date header more than this after arrival (or after now, when the arrival is not known) is a
#: wrong clock or a forgery; the arrival time is used instead.
CLOCK_SKEW = timedelta(days=1)
#: A Date before this is not a mail date (Graph's "no date" is 0001-01-01; 1970 a zeroed clock).
SANE_START = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(slots=True)
class Copy:
    """One ``messages`` row with what its locations say."""

    row_id: int
    mailbox_id: int
    key: str
    message_id: str | None
    thread_id: str | None
    in_reply_to: str | None
    references: list[str] | None
    subject: str | None
    date: datetime | None
    received: datetime | None
    from_addr: str | None
    #: list-id, list-unsubscribe, list-post, precedence, auto-submitted, return-path
    headers: tuple[str | None, ...]
    recipients: int
    deleted: bool
    #: of all its locations, space-separated (strings, not sets: a rebuild holds a million of these)
    flags: str = ""
    labels: str = ""
    roles: str = ""
    to_me: bool = False
    cc_me: bool = False


#: Labels by which a provider says I sent a message: Gmail's system label id ``SENT`` (API) and
#: ``\\Sent`` (IMAP ``X-GM-LABELS``), matched without case.
SENT_LABELS = frozenset({"sent", "\\sent"})


def sent_by_me(roles: str, labels: str) -> bool:
    """The provider's word that I sent a message: a copy in a Sent-role folder (IMAP ``\\Sent``,
    Graph ``sentitems``, a Maildir/mbox folder named so) or Gmail's SENT label.

    A From of mine is not enough (anyone can write it): a message from my address found only
    in inbound folders is a forgery, never my reply (DESIGN: "Me"), and ``kith status`` counts
    them (a fact from one of my addresses that is not outbound).
    """
    return "sent" in roles.split() or any(label.lower() in SENT_LABELS for label in labels.split())


def is_personal(automated: bool, recipients: int, broadcast: bool, cfg: AnalysisConfig) -> bool:
    """Mail written to a person: not automated, not to a crowd, not one copy of a mail merge."""
    return not automated and recipients <= cfg.personal_max_recipients and not broadcast


@dataclass(slots=True)
class Fact:
    key: str
    message_id: str | None
    time: datetime
    sender: str
    subject: str | None
    subject_norm: str
    outbound: bool
    automated: bool
    automated_why: str | None
    recipients: int
    answered: bool
    counted: bool
    future: bool
    to_me: bool
    cc_me: bool
    thread_key: str = ""
    broadcast: bool = False
    nodes: list[str] = field(default_factory=list)

    def personal(self, cfg: AnalysisConfig) -> bool:
        return is_personal(self.automated, self.recipients, self.broadcast, cfg)

    def state(self) -> tuple[Any, ...]:
        """Every field, in order: ``Fact(*f.state())`` is ``f`` again. What a rebuild hands to its
        helper process (pickling a tuple costs a third of pickling the object)."""
        return (*self.values(), self.nodes)

    @classmethod
    def from_state(cls, state: tuple[Any, ...]) -> Fact:
        """The fact of a ``state()`` from another process, its repeated strings shared again as
        those of a fact derived here are (unpickled, each fact would hold copies of its own)."""
        f = cls(*state)
        f.sender = sys.intern(f.sender)
        f.subject_norm = sys.intern(f.subject_norm)
        if f.subject is not None:
            f.subject = sys.intern(f.subject)
        if f.automated_why is not None:
            f.automated_why = sys.intern(f.automated_why)
        return f

    def values(self) -> tuple[Any, ...]:
        """The ``mail_facts`` row, in ``FACT_COLUMNS`` order (the fields' own, but ``nodes``):
        a tuple, as a million dicts cost more than the rows' own write."""
        return (
            self.key,
            self.message_id,
            self.time,
            self.sender,
            self.subject,
            self.subject_norm,
            self.outbound,
            self.automated,
            self.automated_why,
            self.recipients,
            self.answered,
            self.counted,
            self.future,
            self.to_me,
            self.cc_me,
            self.thread_key,
            self.broadcast,
        )


def merge_copies(groups: Iterable[list[Copy]], ident: Identities, now: datetime) -> dict[str, Fact]:
    """One fact per message key from its copies (``groups``: each list holds one key's copies)."""
    return {g[0].key: _fact(g, ident, now) for g in groups}


def fact_of(copies: list[Copy], ident: Identities, now: datetime) -> Fact:
    """The fact of one message key from its copies."""
    return _fact(copies, ident, now)


def _fact(copies: list[Copy], ident: Identities, now: datetime) -> Fact:
    if len(copies) == 1:  # the common case, kept cheap: the rebuild runs this once per message
        c = copies[0]
        return _make(
            c,
            c.received,
            c.labels.split(),
            not c.deleted and not NOT_INTERACTIONS.issuperset(c.roles.split()),
            "\\Answered" in c.flags.split(),
            c.to_me,
            c.cc_me,
            message_nodes(c.key, c.in_reply_to, c.references, c.thread_id, c.mailbox_id),
            ident,
            now,
            sent_by_me(c.roles, c.labels),
        )
    live = [c for c in copies if not c.deleted] or copies
    best = max(live, key=lambda c: (c.recipients, c.date is not None, -c.row_id))
    nodes: list[str] = []
    for c in copies:
        nodes += message_nodes(c.key, c.in_reply_to, c.references, c.thread_id, c.mailbox_id)
    return _make(
        best,
        best.received or next((c.received for c in live if c.received), None),
        " ".join(c.labels for c in live).split(),
        any(not c.deleted and not NOT_INTERACTIONS.issuperset(c.roles.split()) for c in copies),
        any("\\Answered" in c.flags.split() for c in live),
        any(c.to_me for c in copies),
        any(c.cc_me for c in copies),
        list(dict.fromkeys(nodes)),
        ident,
        now,
        any(sent_by_me(c.roles, c.labels) for c in live),
    )


def _make(
    best: Copy,
    received: datetime | None,
    labels: list[str],
    counted: bool,
    answered: bool,
    to_me: bool,
    cc_me: bool,
    nodes: list[str],
    ident: Identities,
    now: datetime,
    sent: bool,
) -> Fact:
    """The fact from the chosen copy and what all the copies say together; ``sent``: the
    provider says I sent it (see ``sent_by_me``)."""
    time, future = message_time(best.date, received, now)
    list_id, list_unsubscribe, list_post, precedence, auto_submitted, return_path = best.headers
    reason = automated_reason(
        sender=best.from_addr,
        list_id=list_id,
        list_unsubscribe=list_unsubscribe,
        list_post=list_post,
        precedence=precedence,
        auto_submitted=auto_submitted,
        return_path=return_path,
        labels=labels,
    )
    return Fact(
        key=best.key,
        # usually the key itself: share the string (a million facts hold one each)
        message_id=best.key if best.message_id == best.key else best.message_id,
        time=time,
        sender=ident.canon(best.from_addr),
        # a mailbox has far fewer subjects and reasons than messages (1M messages of the sample:
        # 20k subjects): one string each, not one per fact (sys.intern lets go of unused ones)
        subject=None if best.subject is None else sys.intern(best.subject),
        subject_norm=norm_subject(best.subject),
        outbound=sent and ident.is_me(best.from_addr),
        automated=reason is not None,
        automated_why=None if reason is None else sys.intern(reason),
        recipients=best.recipients,
        answered=answered,
        counted=counted,
        future=future,
        to_me=to_me,
        cc_me=cc_me,
        nodes=nodes,
    )


def message_time(date: datetime | None, received: datetime | None, now: datetime) -> tuple[datetime, bool]:
    """(the time a message counts at, whether its Date was not trusted).

    Anyone writes the Date header. It is trusted from 1970 up to a day after the arrival time,
    or, when the provider gave none, up to a day after now; otherwise the arrival time is used,
    else now, as for a message without a Date. "Now" for this check is the later of the
    analysis' ``now`` and the clock (an analysis of an earlier day still knows what is
    impossible), and an arrival time outside the same range is no arrival time. So nothing the
    analysis computes from a time can overflow (``Date: 31 Dec 9999`` once stopped every run)
    or place a message before mail existed.
    """
    latest = max(now, datetime.now(UTC)) + CLOCK_SKEW
    if received is not None and not SANE_START <= received <= latest:
        received = None
    if date is None:
        return received or now, False
    if SANE_START <= date <= (received + CLOCK_SKEW if received is not None else latest):
        return date, False
    return received or now, True


def size_broadcast(fact: Fact, cfg: AnalysisConfig) -> bool:
    return fact.outbound and fact.recipients >= cfg.broadcast_min_recipients


def mark_broadcasts(facts: Mapping[str, Fact], merged: set[str], cfg: AnalysisConfig) -> list[Fact]:
    """Set ``broadcast`` on outbound facts; returns the facts whose verdict changed."""
    changed = []
    for f in facts.values():
        b = f.outbound and (size_broadcast(f, cfg) or f.key in merged)
        if b != f.broadcast:
            f.broadcast = b
            changed.append(f)
    return changed


__all__ = [
    "CLOCK_SKEW",
    "FACT_COLUMNS",
    "SANE_START",
    "SENT_LABELS",
    "NOT_INTERACTIONS",
    "Copy",
    "Fact",
    "fact_of",
    "mark_broadcasts",
    "merge_copies",
    "message_time",
    "sent_by_me",
    "size_broadcast",
]
