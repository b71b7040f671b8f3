"""Plain records the rules work on: one contact's mail and meetings, and what the rules found.

Loaders (``kith.analysis.load``) build these from the store; tests build them by hand. The rules
never see a database row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple


@dataclass(slots=True)
class Mail:
    """One message between me and this contact, as the contact sees it."""

    key: str
    time: datetime
    inbound: bool
    personal: bool
    broadcast: bool = False
    automated: bool = False
    answered: bool = False
    thread: str = ""
    to_me: bool = False
    cc_me: bool = False
    message_id: str | None = None
    subject: str | None = None
    future: bool = False
    automated_why: str | None = None
    #: the display name the contact had on this message (its vote for the contact's name)
    name: str = ""


@dataclass(slots=True)
class Meeting:
    """A calendar event with this contact; ``counts`` = accepted, not cancelled, small enough."""

    key: str
    time: datetime
    counts: bool
    summary: str | None = None


@dataclass
class ContactData:
    address: str
    name: str = ""
    mails: list[Mail] = field(default_factory=list)
    meetings: list[Meeting] = field(default_factory=list)
    #: my own (non-automated) outbound times per thread, for the threads of this contact's
    #: personal inbound mail (the rules look up my replies to nothing else)
    my_thread_replies: Mapping[str, list[datetime]] = field(default_factory=dict)
    #: the stored spellings of this contact's address (aliases, case variants)
    raw_addresses: set[str] = field(default_factory=set)
    #: derived views computed once per evaluation (see kith.analysis.timeline)
    cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


class Finding(NamedTuple):
    """A rule's verdict: open now (``reason`` None) or resolved (with the reason it went away).

    A tuple: the rules make many (when the stored flags are not known, every inbound personal
    message is one, resolved or not), and a frozen dataclass costs twice as much to make.
    """

    kind: str
    key: str
    since: datetime
    evidence: dict[str, Any]
    #: changes when new evidence arrives (a dismissed flag reopens only then)
    mark: str
    message_id: str | None = None
    reason: str | None = None


#: One interaction as the ``interactions`` table stores it: (time, kind, personal, broadcast,
#: message key, event key, subject, name). A plain tuple, not a named record, on purpose: a
#: rebuild makes one per mail per contact (a million at 1M messages) and writes them as they are
#: through ``upsert_tuples`` (measured when the interactions were first written as tuples: the
#: dicts and their per-value conversion were most of the write). Unpack it by position, in this
#: order (``kith.store.analysis_writes.INTERACTION_COLUMNS`` without the contact id).
InteractionRow = tuple[datetime, str, bool, bool, str | None, str | None, str | None, str | None]


@dataclass
class ContactResult:
    address: str
    name: str
    automated: bool
    automated_why: dict[str, Any] | None
    findings: list[Finding]
    stats: dict[str, Any]
    interactions: list[InteractionRow]
    raw_addresses: set[str] = field(default_factory=set)
    #: Why evaluating this contact failed (then nothing else here is meaningful, and what is
    #: stored for the contact is kept as it was); None when it did not.
    failed: str | None = None


__all__ = ["ContactData", "ContactResult", "Finding", "InteractionRow", "Mail", "Meeting"]
