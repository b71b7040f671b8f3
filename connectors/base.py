"""The connector contract: plain records, streams, batches and the ``Source`` protocol.

A connector talks to one provider and turns what it says into the frozen records below. It never
touches the database: the sync engine hands it the stream's stored cursor (opaque JSON the
connector owns) and, for connectors that need it, a lazy view of the provider keys the store
already holds; the connector yields ``Batch`` objects, each valid to apply on its own. The store
applies a batch and its cursor in one transaction, so a crash re-pulls at most one batch.

Provider keys are unique within a stream and stable for as long as the provider item is the same
item (Maildir unique name, ``UIDVALIDITY:UID`` for IMAP, Gmail message id, Graph id, CalDAV href).

Everything a connector can do is declared here, so callers are checked by mypy and never probe:

- every source: ``Source`` (``streams``, ``pull``, ``close``);
- a source that has more says so by satisfying a small protocol, and callers ask ``isinstance``:
  ``Checkable`` (``kith check``), ``Pushing`` (``wait_for_changes``, IMAP IDLE), ``Alerting``
  (server texts for ``kith status``); ``capabilities(source)`` names them;
- each kind of connector publishes one ``Connector`` record (the registry hands it out): the
  sources it builds, and its ``Authorizer`` (``kith auth``) and ``Sender`` (the nightly report)
  when it has them.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from kith.config.mailboxes import MailboxBase

JSON = dict[str, Any]


class Role(enum.StrEnum):
    """What a stream holds; decides whether its messages are interactions at all."""

    INBOX = "inbox"
    SENT = "sent"
    ARCHIVE = "archive"
    ALL = "all"
    JUNK = "junk"
    TRASH = "trash"
    DRAFTS = "drafts"
    OTHER = "other"
    CALENDAR = "calendar"


#: Roles whose content is not an interaction; skipped unless the mailbox config says otherwise.
SKIPPED_BY_DEFAULT = frozenset({Role.JUNK, Role.TRASH, Role.DRAFTS})


@dataclass(frozen=True, slots=True)
class Stream:
    """One folder, label or calendar of a source.

    ``name`` is the provider's own name (IMAP folder, Gmail label id, Graph folder id, calendar
    URL); it is the key the store saves the cursor under, so it must be stable.
    """

    name: str
    role: Role
    display_name: str = ""

    @property
    def is_calendar(self) -> bool:
        return self.role is Role.CALENDAR


def _by_position(self: Any) -> tuple[Any, ...]:
    """Pickle as (class, field values): half the cost of the default slots state.

    Records cross a process boundary in bulk (Maildir parsing runs in a helper process), where
    the default per-slot state dictionaries cost as much as parsing the headers did.
    """
    return (type(self), tuple(getattr(self, name) for name in self.__slots__))


@dataclass(frozen=True, slots=True)
class Address:
    """One mailbox of an address header (RFC 5322 §3.4): display name and addr-spec.

    ``address`` is lower-cased and stripped; anything further (aliases, plus-addressing) is
    the analysis' business, not the parser's.
    """

    address: str
    name: str = ""

    __reduce__ = _by_position


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """The headers of one message as one provider location holds it. Never the body."""

    provider_key: str
    #: Message-ID header (RFC 5322 §3.6.4), with its angle brackets, as found; None if absent.
    message_id: str | None
    #: Date header converted to UTC; None when missing or unparsable (see ``problems``).
    date: datetime | None
    subject: str | None = None
    from_: Address | None = None
    sender: Address | None = None
    reply_to: tuple[Address, ...] = ()
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    #: Bcc is only known for mail I sent (it is stripped from delivered copies).
    bcc: tuple[Address, ...] = ()
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    #: Provider thread id (Gmail threadId / X-GM-THRID, Graph conversationId); None otherwise.
    thread_id: str | None = None
    list_id: str | None = None
    list_unsubscribe: str | None = None
    list_post: str | None = None
    precedence: str | None = None
    auto_submitted: str | None = None
    #: Return-Path as found; the empty string means ``<>`` (a bounce or auto-reply).
    return_path: str | None = None
    #: IMAP system/keyword flags (``\\Answered``, ``\\Seen``…) mapped from each provider.
    flags: frozenset[str] = frozenset()
    #: Gmail label ids / Graph categories and inference classification.
    labels: frozenset[str] = frozenset()
    size: int | None = None
    #: Arrival time at the provider (IMAP INTERNALDATE, receivedDateTime); fallback for Date.
    received: datetime | None = None
    #: What could not be parsed; the record still carries everything that could.
    problems: tuple[str, ...] = ()
    #: Graph's ``webLink``: the message in Outlook on the web (an https URL); None elsewhere.
    web_link: str | None = None

    __reduce__ = _by_position


@dataclass(frozen=True, slots=True)
class Attendee:
    """One ATTENDEE of an event (RFC 5545 §3.8.4.1) with its ROLE and PARTSTAT."""

    address: str
    name: str = ""
    role: str = "REQ-PARTICIPANT"
    partstat: str = "NEEDS-ACTION"


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One calendar event occurrence (recurring events arrive expanded in a window)."""

    provider_key: str
    uid: str
    start: datetime
    end: datetime | None = None
    #: RECURRENCE-ID of this occurrence; None for a single event.
    recurrence_id: datetime | None = None
    all_day: bool = False
    summary: str | None = None
    organizer: Address | None = None
    attendees: tuple[Attendee, ...] = ()
    #: STATUS: CONFIRMED, TENTATIVE or CANCELLED.
    status: str = "CONFIRMED"
    #: My own PARTSTAT (ACCEPTED, DECLINED, TENTATIVE, NEEDS-ACTION) when I am an attendee.
    my_response: str | None = None
    cancelled: bool = False
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FlagUpdate:
    """New flags for an item the store already has (CONDSTORE, Maildir rename, label change)."""

    provider_key: str
    flags: frozenset[str]
    labels: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class Problem:
    """An item that could not be turned into a record at all; recorded, then skipped."""

    provider_key: str
    message: str


Record = MessageRecord | EventRecord


@dataclass(frozen=True, slots=True)
class Batch:
    """What to apply in one transaction: upserts, flag changes, deletions, and the cursor.

    ``cursor`` is the position that is valid once everything above it is applied; None keeps
    the stored cursor. ``versions`` maps provider keys of the upserts to a change marker (Maildir
    info flags, CalDAV etag…) that comes back through ``Known`` on the next pull.
    """

    upserts: tuple[Record, ...] = ()
    flag_updates: tuple[FlagUpdate, ...] = ()
    deletions: tuple[str, ...] = ()
    cursor: JSON | None = None
    problems: tuple[Problem, ...] = ()
    versions: Mapping[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.upserts) + len(self.flag_updates) + len(self.deletions) + len(self.problems)


#: Lazy view of the provider keys (→ version) the store holds for one stream. Called at most once
#: per pull; connectors that keep their own state (UIDs, history ids) never call it.
Known = Callable[[], Mapping[str, str | None]]


def no_known() -> Mapping[str, str | None]:
    return {}


@runtime_checkable
class Source(Protocol):
    """A mail or calendar provider for one configured mailbox."""

    def streams(self) -> list[Stream]:
        """The folders/labels/calendars to sync, each with its role."""
        ...

    def pull(self, stream: Stream, cursor: JSON | None, known: Known = no_known) -> Iterator[Batch]:
        """Yield batches from ``cursor`` on; ``cursor=None`` means a full sync.

        Raises ``CursorExpired`` when the cursor is no longer valid (before yielding anything
        that depends on it); the engine then pulls again with ``cursor=None``.
        """
        ...

    def close(self) -> None:
        """Release connections; the source is not used afterwards."""
        ...


# --- optional capability: check (``kith check``) ----------------------------------------------
#
# A read-only look at a real account, in seconds: what the provider offers, what kith will use
# of it, and every problem with the fix for it. A source that can look says so by having
# ``check()``; the CLI asks ``isinstance(source, Checkable)``.


class Level(enum.StrEnum):
    """How much a finding matters: ``error`` means kith cannot sync as configured."""

    OK = "ok"
    INFO = "info"
    WARN = "warn"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing ``kith check`` found; a ``warn`` or ``error`` always carries its ``fix``."""

    topic: str
    text: str
    level: Level = Level.INFO
    fix: str | None = None


@dataclass(frozen=True, slots=True)
class FolderCheck:
    """A folder, label or calendar as kith sees it: its role, size, and why it is skipped."""

    name: str
    role: Role | None
    messages: int | None = None
    #: None when kith syncs it; else the reason (a skipped role, ``exclude``, not selectable…).
    skipped: str | None = None


@dataclass(frozen=True, slots=True)
class FirstSync:
    """The expected size of the first sync: items, provider requests, minutes at the quota."""

    items: int
    requests: int
    minutes: float
    #: What bounds ``minutes`` (the provider's quota, round trips…), said in a few words.
    basis: str = ""


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What one source's ``check()`` found."""

    kind: str
    account: str
    findings: tuple[Finding, ...] = ()
    folders: tuple[FolderCheck, ...] = ()
    first_sync: FirstSync | None = None

    @property
    def ok(self) -> bool:
        return not any(f.level is Level.ERROR for f in self.findings)


@runtime_checkable
class Checkable(Protocol):
    """A source that can look at its account without changing or syncing anything."""

    def check(self) -> CheckReport:
        """Log in, look, and report; raises only what ``streams()`` would (``AuthError``…)."""
        ...


# --- end of optional capability: check ----------------------------------------------------------


# --- optional capabilities of a source: push and alerts ------------------------------------------
#
# The daemon asks ``isinstance(source, Pushing)`` / ``isinstance(source, Alerting)``; a source has
# the capability by having the method with this signature (the contract test checks both ways).


@runtime_checkable
class Pushing(Protocol):
    """A source that can wait for the provider to say something changed (IMAP IDLE)."""

    def wait_for_changes(self, timeout: float, stop: threading.Event | None = None) -> bool:
        """True as soon as something changed, False after ``timeout`` seconds or once ``stop`` is set.

        Raises ``TransientError`` after a disconnect (the caller backs off and calls again) and
        ``AuthError`` when the login is refused.
        """
        ...


@runtime_checkable
class Alerting(Protocol):
    """A source whose server sends texts a person should read (IMAP ``[ALERT]``, ``[OVERQUOTA]``)."""

    @property
    def alerts(self) -> list[str]:
        """What the server said so far, without duplicates (shown by ``kith status``)."""
        ...


#: Capability name → the protocol a source satisfies to have it (``capabilities()``).
SOURCE_CAPABILITIES: dict[str, type] = {"check": Checkable, "push": Pushing, "alerts": Alerting}


def capabilities(source: object) -> frozenset[str]:
    """The names of the optional capabilities ``source`` has (``check``, ``push``, ``alerts``)."""
    return frozenset(name for name, proto in SOURCE_CAPABILITIES.items() if isinstance(source, proto))


# --- what a kind of connector offers besides its sources: authorize and send --------------------
#
# These work on a configured mailbox before or without a source (``kith auth``, the nightly
# report), so they are functions of the connector, held in its ``Connector`` record; the registry
# hands out the record of a ``kind`` and callers look at what is not None.


class SourceFactory(Protocol):
    """Builds the source of one configured mailbox; ``ConfigError`` for a mailbox of another kind."""

    def __call__(self, mailbox: MailboxBase, *, state_dir: Path) -> Source: ...


class Authorizer(Protocol):
    """``kith auth NAME``: obtain or check credentials; returns the line to show the user.

    ``send`` asks for the permission to send mail too; ``options`` are the provider's own
    (Gmail: ``open_browser=False`` for ``kith auth --headless``).
    """

    def __call__(
        self, mailbox: MailboxBase, *, state_dir: Path, interactive: bool = True, send: bool = False, **options: Any
    ) -> str: ...


class Sender(Protocol):
    """Hands a finished message to the mailbox's own mail system (the nightly report).

    Returns where it went in a few words (``INBOX``, ``INBOX (already there)``, a provider id);
    idempotent by Message-ID where the provider lets it be.
    """

    def __call__(self, mailbox: MailboxBase, message: EmailMessage, *, state_dir: Path) -> str: ...


@dataclass(frozen=True, slots=True)
class Connector:
    """Everything one kind of connector can do, in one place: which sources it builds, and
    whether it can authorize (``kith auth``) and send (``[report] deliver``)."""

    make_source: SourceFactory | None = None
    make_calendar_source: SourceFactory | None = None
    authorize: Authorizer | None = None
    send: Sender | None = None


class BaseSource:
    """Defaults for the optional parts of the protocol."""

    def close(self) -> None:  # pragma: no cover - nothing to release by default
        return None

    def __enter__(self) -> BaseSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = [
    "JSON",
    "SKIPPED_BY_DEFAULT",
    "SOURCE_CAPABILITIES",
    "Address",
    "Alerting",
    "Attendee",
    "Authorizer",
    "BaseSource",
    "Batch",
    "CheckReport",
    "Checkable",
    "Connector",
    "EventRecord",
    "Finding",
    "FirstSync",
    "FlagUpdate",
    "FolderCheck",
    "Known",
    "Level",
    "MessageRecord",
    "Problem",
    "Pushing",
    "Record",
    "Role",
    "Sender",
    "Source",
    "SourceFactory",
    "Stream",
    "capabilities",
    "no_known",
]
