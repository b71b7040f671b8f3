"""The synced tables: mailboxes, streams and their cursors, messages, events, sync runs.

These hold what the providers said (headers, never bodies). Everything derived from them
(contacts, interactions, flags, statistics) lives in ``kith.store.derived`` and can be rebuilt.
Times are stored as naive UTC (``UtcDateTime``) so SQLite and PostgreSQL compare them alike.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; stored naive UTC on every dialect."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class JsonText(TypeDecorator[Any]):
    """JSON kept as text: portable, and the cursor stays byte-for-byte what the connector gave."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JSON}


def utcnow() -> datetime:
    return datetime.now(UTC)


class MailboxRow(Base):
    __tablename__ = "mailboxes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Set when the provider refused our credentials; cleared by the next good sync.
    auth_error: Mapped[str | None] = mapped_column(Text)
    #: The server's own words worth showing ([ALERT], [THROTTLED], [OVERQUOTA]).
    server_alert: Mapped[str | None] = mapped_column(Text)
    next_run_at: Mapped[datetime | None]
    failures: Mapped[int] = mapped_column(Integer, default=0)

    streams: Mapped[list[StreamRow]] = relationship(back_populates="mailbox", cascade="all, delete-orphan")


class StreamRow(Base):
    __tablename__ = "streams"
    __table_args__ = (UniqueConstraint("mailbox_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(500))
    role: Mapped[str] = mapped_column(String(20))
    display_name: Mapped[str] = mapped_column(String(500), default="")
    #: Opaque connector cursor; saved in the same transaction as the batch it follows.
    cursor: Mapped[Any | None] = mapped_column(JsonText)
    last_success: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    item_count: Mapped[int] = mapped_column(Integer, default=0)
    #: False once the provider no longer lists the stream (folder deleted or renamed).
    present: Mapped[bool] = mapped_column(Boolean, default=True)

    mailbox: Mapped[MailboxRow] = relationship(back_populates="streams")


class SyncRun(Base):
    __tablename__ = "sync_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"), index=True)
    worker: Mapped[str] = mapped_column(String(200), default="")
    full: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    #: running, ok, partial (some streams failed), error, aborted
    status: Mapped[str] = mapped_column(String(20), default="running")
    upserts: Mapped[int] = mapped_column(Integer, default=0)
    deletions: Mapped[int] = mapped_column(Integer, default=0)
    problems: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class MessageRow(Base):
    """One logical message per mailbox, wherever (and in how many folders) it is stored."""

    __tablename__ = "messages"
    __table_args__ = (
        # key first: lookups by key (ANY/IN lists) use the index whatever the planner knows
        UniqueConstraint("message_key", "mailbox_id"),
        Index("ix_messages_date", "date"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    #: Normalised Message-ID, else ``hash:`` + a stable digest of the headers.
    message_key: Mapped[str] = mapped_column(String(1000))
    message_id: Mapped[str | None] = mapped_column(String(1000))
    thread_id: Mapped[str | None] = mapped_column(String(200))
    in_reply_to: Mapped[str | None] = mapped_column(String(1000))
    references: Mapped[list[str] | None] = mapped_column(JsonText)
    subject: Mapped[str | None] = mapped_column(Text)
    date: Mapped[datetime | None]
    received: Mapped[datetime | None]
    from_addr: Mapped[str | None] = mapped_column(String(500))
    from_name: Mapped[str | None] = mapped_column(String(500))
    sender_addr: Mapped[str | None] = mapped_column(String(500))
    list_id: Mapped[str | None] = mapped_column(Text)
    list_unsubscribe: Mapped[str | None] = mapped_column(Text)
    list_post: Mapped[str | None] = mapped_column(Text)
    precedence: Mapped[str | None] = mapped_column(String(100))
    auto_submitted: Mapped[str | None] = mapped_column(String(200))
    return_path: Mapped[str | None] = mapped_column(String(500))
    size: Mapped[int | None] = mapped_column(BigInteger)
    recipient_count: Mapped[int] = mapped_column(Integer, default=0)
    problems: Mapped[list[str] | None] = mapped_column(JsonText)
    #: Graph's ``webLink`` (the message in Outlook on the web); None for other providers.
    web_link: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Set when no folder holds the message any more; the row stays so ids and flags stay stable.
    deleted_at: Mapped[datetime | None]


class MessageLocation(Base):
    """Where a message sits: (stream, provider key) -> message, with that copy's flags."""

    __tablename__ = "message_locations"
    # stream first: the unique key also serves the per-stream reads (stored versions, counts,
    # retiring a folder), so no second index on stream_id costs every insert
    __table_args__ = (UniqueConstraint("stream_id", "provider_key"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"))
    provider_key: Mapped[str] = mapped_column(String(500))
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    #: Space-separated IMAP-style flags (``\\Answered \\Seen``).
    flags: Mapped[str] = mapped_column(Text, default="")
    #: Space-separated labels/categories.
    labels: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[str | None] = mapped_column(String(200))


class MessageParticipant(Base):
    __tablename__ = "message_participants"
    # WITHOUT ROWID: the primary key is the table on SQLite, one B-tree less to write per row.
    # No index on address: nothing looks a person up here (a contact's history is read through
    # its interactions), and every participant row would pay for it
    __table_args__ = ({"sqlite_with_rowid": False},)

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    #: from, sender, reply_to, to, cc, bcc
    role: Mapped[str] = mapped_column(String(10), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(500))
    name: Mapped[str] = mapped_column(String(500), default="")


class SyncProblem(Base):
    """An item that was skipped or only partly parsed, so the user can see what and why."""

    __tablename__ = "sync_problems"
    __table_args__ = (UniqueConstraint("stream_id", "provider_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"))
    provider_key: Mapped[str] = mapped_column(String(500))
    message: Mapped[str] = mapped_column(Text)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class EventRow(Base):
    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("stream_id", "provider_key"),
        Index("ix_events_start", "start"),
        # an incremental analysis reads the meetings its contacts organised
        Index("ix_events_organizer_addr", "organizer_addr"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    stream_id: Mapped[int] = mapped_column(ForeignKey("streams.id", ondelete="CASCADE"))
    provider_key: Mapped[str] = mapped_column(String(500))
    uid: Mapped[str] = mapped_column(String(1000))
    recurrence_id: Mapped[datetime | None]
    start: Mapped[datetime]
    end: Mapped[datetime | None]
    all_day: Mapped[bool] = mapped_column(Boolean, default=False)
    summary: Mapped[str | None] = mapped_column(Text)
    organizer_addr: Mapped[str | None] = mapped_column(String(500))
    organizer_name: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20), default="CONFIRMED")
    my_response: Mapped[str | None] = mapped_column(String(20))
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[str | None] = mapped_column(String(200))
    problems: Mapped[list[str] | None] = mapped_column(JsonText)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class EventAttendee(Base):
    __tablename__ = "event_attendees"
    __table_args__ = (Index("ix_event_attendees_address", "address"), {"sqlite_with_rowid": False})

    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(500))
    name: Mapped[str] = mapped_column(String(500), default="")
    role: Mapped[str] = mapped_column(String(30), default="REQ-PARTICIPANT")
    partstat: Mapped[str] = mapped_column(String(30), default="NEEDS-ACTION")


class ReportRow(Base):
    """One nightly report per (date, recipient): the table is the truth for exactly-once."""

    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("report_date", "recipient"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_date: Mapped[str] = mapped_column(String(10))
    recipient: Mapped[str] = mapped_column(String(500))
    #: pending, sending, sent, failed
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    message_id: Mapped[str | None] = mapped_column(String(500))
    error: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[Any | None] = mapped_column(JsonText)


class Lease(Base):
    """Who works on what (a mailbox, the nightly report) until when; see kith.store.leases."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(300), primary_key=True)
    holder: Mapped[str] = mapped_column(String(300))
    expires_at: Mapped[datetime]
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)


class MetaRow(Base):
    """Small key/value facts about the database itself (e.g. last analysis watermark)."""

    __tablename__ = "kith_meta"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any | None] = mapped_column(JsonText)


# -- reply-to-act (the statements are kith.store.commands) ---------------------------------------


class ActionToken(Base):
    """A token that acted once; its digest refuses the next use."""

    __tablename__ = "action_tokens"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    flag_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(20))
    #: The Message-ID (or ``web``) that carried it: the same message again is no replay.
    carrier: Mapped[str] = mapped_column(String(1000))
    used_at: Mapped[datetime]


class ActionLog(Base):
    """One command looked at: when, through what, and what came of it."""

    __tablename__ = "action_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    #: ``email`` (and the mailbox) or ``web``.
    via: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(20))
    flag_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str | None] = mapped_column(String(20))
    #: The From address as the header gave it (sanitized at the connector; cut to 200).
    sender: Mapped[str | None] = mapped_column(String(200))
    #: The message that carried it and the SHA-256 of its token: the same message seen again
    #: (a Maildir re-read, a resync) is known, and logged once.
    carrier: Mapped[str | None] = mapped_column(String(1000))
    digest: Mapped[str | None] = mapped_column(String(64), index=True)


__all__ = [
    "ActionLog",
    "ActionToken",
    "Base",
    "EventAttendee",
    "EventRow",
    "JsonText",
    "Lease",
    "MailboxRow",
    "MessageLocation",
    "MessageParticipant",
    "MessageRow",
    "MetaRow",
    "ReportRow",
    "StreamRow",
    "SyncProblem",
    "SyncRun",
    "UtcDateTime",
    "utcnow",
]
