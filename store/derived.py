"""The derived tables: what kith.analysis computes from messages and events.

Everything here can be dropped and rebuilt (``kith analyze --rebuild``) except the user's own
decisions on flags (dismissed, snoozed) and the flag history, which a rebuild keeps: flags are
matched by their stable ``key``.

``analysis_queue`` is the hand-over from ingest to analysis: the sync writes the ids of the
messages and the addresses it touched in the same transaction as the batch, and the analysis
consumes them. A crash between the two therefore never loses a change to analyse, and any
process (the daemon, ``kith analyze``, another worker) can do the work.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kith.store.models import Base, JsonText, utcnow

BIGID = BigInteger().with_variant(Integer, "sqlite")


class AnalysisQueue(Base):
    """Work for the analysis: a message row that changed, or an address whose events changed."""

    __tablename__ = "analysis_queue"

    id: Mapped[int] = mapped_column(BIGID, primary_key=True)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    address: Mapped[str | None] = mapped_column(String(500))


class MailFact(Base):
    """One logical message (deduplicated across mailboxes by Message-ID) as the rules see it."""

    __tablename__ = "mail_facts"
    __table_args__ = (
        Index("ix_mail_facts_thread_key", "thread_key"),
        Index("ix_mail_facts_subject", "subject_norm", "time"),
        {"sqlite_with_rowid": False},
    )

    message_key: Mapped[str] = mapped_column(String(1000), primary_key=True)
    #: Header Message-ID (with brackets) for links and ``kith flags --json``.
    message_id: Mapped[str | None] = mapped_column(String(1000))
    time: Mapped[datetime]
    sender: Mapped[str] = mapped_column(String(500), default="")
    thread_key: Mapped[str] = mapped_column(String(1000))
    subject: Mapped[str | None] = mapped_column(Text)
    subject_norm: Mapped[str] = mapped_column(String(500), default="")
    outbound: Mapped[bool] = mapped_column(Boolean)
    automated: Mapped[bool] = mapped_column(Boolean)
    #: why it is automated (header signals), for ``kith contacts --automated``
    automated_why: Mapped[str | None] = mapped_column(String(200))
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    broadcast: Mapped[bool] = mapped_column(Boolean, default=False)
    answered: Mapped[bool] = mapped_column(Boolean, default=False)
    #: one of my addresses is in To / in Cc (the unanswered rule asks for To)
    to_me: Mapped[bool] = mapped_column(Boolean, default=False)
    cc_me: Mapped[bool] = mapped_column(Boolean, default=False)
    #: False when deleted or only in junk/trash/drafts: kept for threading, not an interaction.
    counted: Mapped[bool] = mapped_column(Boolean, default=True)
    #: The Date header lies (more than a day after arrival); ``time`` is the arrival time then.
    future: Mapped[bool] = mapped_column(Boolean, default=False)


class ThreadNode(Base):
    """Union-find flattened: every Message-ID (seen or only referenced) and provider thread id → its thread."""

    __tablename__ = "thread_nodes"
    __table_args__ = (Index("ix_thread_nodes_thread_key", "thread_key"), {"sqlite_with_rowid": False})

    node: Mapped[str] = mapped_column(String(1000), primary_key=True)
    thread_key: Mapped[str] = mapped_column(String(1000))


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The canonical address (an alias target, else the normalised address).
    address: Mapped[str] = mapped_column(String(500), unique=True)
    name: Mapped[str] = mapped_column(String(500), default="")
    automated: Mapped[bool] = mapped_column(Boolean, default=False)
    automated_why: Mapped[Any | None] = mapped_column(JsonText)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The name and every address, accents and case folded (``kith.analysis.search``): what the
    #: web app's people search matches with LIKE, on both dialects alike.
    search: Mapped[str] = mapped_column(Text, default="")


class ContactMerge(Base):
    """The user's decision that two contacts are one person (the web app's *Merge*).

    Not derived: a rebuild keeps it. The analysis reads the merges in force (``undone_at`` is
    NULL) with the configured aliases: every address of ``address``'s contact then belongs to
    ``target``'s. *Undo* sets ``undone_at``, so what was merged and when stays on record.
    """

    __tablename__ = "contact_merges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The canonical address of the contact merged away.
    address: Mapped[str] = mapped_column(String(500), index=True)
    #: The canonical address of the contact it joined.
    target: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    undone_at: Mapped[datetime | None]


class ContactAddress(Base):
    __tablename__ = "contact_addresses"

    address: Mapped[str] = mapped_column(String(500), primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), index=True)


class Interaction(Base):
    """One contact's email in/out or meeting; ``personal``/``broadcast`` as the rules decided."""

    __tablename__ = "interactions"
    # by contact and message: an incremental run finds a contact's rows for the messages it
    # changed (and its meetings, whose key is NULL) without reading the rest of its history
    __table_args__ = (
        Index("ix_interactions_contact_key", "contact_id", "message_key"),
        Index("ix_interactions_at", "at"),
    )

    id: Mapped[int] = mapped_column(BIGID, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    #: email_in, email_out, meeting
    kind: Mapped[str] = mapped_column(String(10))
    personal: Mapped[bool] = mapped_column(Boolean)
    broadcast: Mapped[bool] = mapped_column(Boolean, default=False)
    message_key: Mapped[str | None] = mapped_column(String(1000))
    #: For meetings: ``uid`` + recurrence, the same meeting in two calendars counted once.
    event_id: Mapped[str | None] = mapped_column(String(1100))
    subject: Mapped[str | None] = mapped_column(Text)
    #: the display name the contact had on this message: its vote for the contact's name, kept
    #: so an incremental run can count the votes of its history without the participant rows
    name: Mapped[str | None] = mapped_column(String(500))


class ContactStat(Base):
    __tablename__ = "contact_stats"

    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True)
    stage: Mapped[str | None] = mapped_column(String(20))
    stage_evidence: Mapped[Any | None] = mapped_column(JsonText)
    strength: Mapped[int] = mapped_column(Integer, default=0)
    cadence_days: Mapped[float | None] = mapped_column(Float)
    personal_in: Mapped[int] = mapped_column(Integer, default=0)
    personal_out: Mapped[int] = mapped_column(Integer, default=0)
    broadcast_out: Mapped[int] = mapped_column(Integer, default=0)
    meetings: Mapped[int] = mapped_column(Integer, default=0)
    first_seen: Mapped[datetime | None]
    last_interaction: Mapped[datetime | None]
    my_reply_median_h: Mapped[float | None] = mapped_column(Float)
    my_reply_p90_h: Mapped[float | None] = mapped_column(Float)
    their_reply_median_h: Mapped[float | None] = mapped_column(Float)
    their_reply_p90_h: Mapped[float | None] = mapped_column(Float)
    reciprocity: Mapped[float | None] = mapped_column(Float)
    #: The earliest time a rule's verdict could change without new mail (a message turning two
    #: days old, a contact becoming overdue): the analysis re-evaluates the contact then.
    next_check: Mapped[datetime | None] = mapped_column(index=True)


class FlagRow(Base):
    """A rule's finding about a contact or message, with its lifecycle and evidence."""

    __tablename__ = "flags"
    __table_args__ = (Index("ix_flags_state_kind", "state", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: a flag kind's id (``kith.analysis.kinds``; the store does not interpret it)
    kind: Mapped[str] = mapped_column(String(20))
    #: Stable: recomputing finds the same flag instead of making a new one.
    key: Mapped[str] = mapped_column(String(1200), unique=True)
    contact_address: Mapped[str] = mapped_column(String(500), index=True)
    message_id: Mapped[str | None] = mapped_column(String(1000))
    #: open, resolved, dismissed, snoozed
    state: Mapped[str] = mapped_column(String(12), default="open")
    since: Mapped[datetime]
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)
    snoozed_until: Mapped[datetime | None]
    evidence: Mapped[Any | None] = mapped_column(JsonText)
    #: Changes when new evidence arrives: a dismissed flag reopens only then.
    evidence_mark: Mapped[str] = mapped_column(String(200), default="")


class FlagEvent(Base):
    """The history of a flag: every state change with its reason."""

    __tablename__ = "flag_events"

    id: Mapped[int] = mapped_column(BIGID, primary_key=True)
    flag_id: Mapped[int] = mapped_column(ForeignKey("flags.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(Text)


__all__ = [
    "AnalysisQueue",
    "Contact",
    "ContactAddress",
    "ContactMerge",
    "ContactStat",
    "FlagEvent",
    "FlagRow",
    "Interaction",
    "MailFact",
    "ThreadNode",
]
