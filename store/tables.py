"""Every table as a Core ``Table``, under one name each, for the store's statements.

The ORM classes (``store/models.py``, ``store/derived.py``) say what a row is; the statements
the store builds read better over the tables, and a table spelled two ways in two modules
(``ST`` here, ``STREAM`` there) made a reader check that both were the same thing. So each
table has exactly one alias, here, and the modules of the store import it.
"""

from __future__ import annotations

from sqlalchemy import Table

from kith.store.derived import (
    AnalysisQueue,
    Contact,
    ContactAddress,
    ContactMerge,
    ContactStat,
    FlagEvent,
    FlagRow,
    Interaction,
    MailFact,
    ThreadNode,
)
from kith.store.models import (
    ActionLog,
    ActionToken,
    EventAttendee,
    EventRow,
    Lease,
    MailboxRow,
    MessageLocation,
    MessageParticipant,
    MessageRow,
    MetaRow,
    ReportRow,
    StreamRow,
    SyncProblem,
    SyncRun,
)


def _table(model: type) -> Table:
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


# what the sync writes
MAILBOX = _table(MailboxRow)
STREAM = _table(StreamRow)
RUN = _table(SyncRun)
PROBLEM = _table(SyncProblem)
MESSAGE = _table(MessageRow)
LOCATION = _table(MessageLocation)
PARTICIPANT = _table(MessageParticipant)
EVENT = _table(EventRow)
ATTENDEE = _table(EventAttendee)
# bookkeeping
REPORT = _table(ReportRow)
LEASE = _table(Lease)
META = _table(MetaRow)
QUEUE = _table(AnalysisQueue)
# reply-to-act: the tokens that acted, and every command looked at
TOKEN = _table(ActionToken)
ACTION_LOG = _table(ActionLog)
# what the analysis derives (and the user's merges and flag decisions)
FACT = _table(MailFact)
NODE = _table(ThreadNode)
CONTACT = _table(Contact)
MERGE = _table(ContactMerge)
CONTACT_ADDRESS = _table(ContactAddress)
INTERACTION = _table(Interaction)
STAT = _table(ContactStat)
FLAG = _table(FlagRow)
FLAG_EVENT = _table(FlagEvent)

__all__ = [
    "ACTION_LOG",
    "ATTENDEE",
    "CONTACT",
    "CONTACT_ADDRESS",
    "EVENT",
    "FACT",
    "FLAG",
    "FLAG_EVENT",
    "INTERACTION",
    "LEASE",
    "LOCATION",
    "MAILBOX",
    "MERGE",
    "MESSAGE",
    "META",
    "NODE",
    "PARTICIPANT",
    "PROBLEM",
    "QUEUE",
    "REPORT",
    "RUN",
    "STAT",
    "STREAM",
    "TOKEN",
]
