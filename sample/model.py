"""The generator's in-memory picture of a mailbox: messages and meetings as plain values.

The writer turns these into Maildir files and .ics calendars; the oracle evaluates the rules of
DESIGN.md over them to produce the ground truth. Keeping both on one model is what makes the
truth trustworthy: the files and the truth come from the same values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Person:
    address: str
    name: str


@dataclass(slots=True)
class Msg:
    """One message as the generator means it (folder, direction and flags included)."""

    mailbox: str
    folder: str  # "" (INBOX), "Sent", "Archive", "Junk", "Trash", "Drafts"
    date: datetime
    message_id: str
    sender: Person
    to: tuple[Person, ...]
    subject: str
    cc: tuple[Person, ...] = ()
    bcc: tuple[Person, ...] = ()
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    answered: bool = False
    outbound: bool = False
    automated: bool = False
    broadcast: bool = False
    #: a deliberately malformed header block (must not change the truth)
    broken: str | None = None
    thread: str = ""
    #: Date header shown in this UTC offset (minutes), to exercise time zones
    tz_minutes: int = 0
    future_date: bool = False


@dataclass(slots=True)
class Meeting:
    uid: str
    start: datetime
    minutes: int
    organizer: Person
    attendees: tuple[Person, ...]
    my_partstat: str = "ACCEPTED"
    cancelled: bool = False
    summary: str = "Meeting"
    weekly_count: int = 0  # > 0: an RRULE weekly series of this many occurrences


@dataclass
class World:
    """Everything generated for one seed."""

    now: datetime
    me: dict[str, Person]  # mailbox name -> my identity there
    messages: list[Msg] = field(default_factory=list)
    meetings: dict[str, list[Meeting]] = field(default_factory=dict)  # mailbox -> meetings
    aliases: dict[str, list[str]] = field(default_factory=dict)
    intent: dict[str, set[str]] = field(default_factory=dict)  # rule -> addresses / message ids
    stages: dict[str, str] = field(default_factory=dict)
