"""kith.connectors: providers turned into plain records (no database here)."""

from __future__ import annotations

from kith.connectors.base import (
    SKIPPED_BY_DEFAULT,
    Address,
    Attendee,
    BaseSource,
    Batch,
    EventRecord,
    FlagUpdate,
    Known,
    MessageRecord,
    Problem,
    Record,
    Role,
    Source,
    Stream,
    no_known,
)

__all__ = [
    "SKIPPED_BY_DEFAULT",
    "Address",
    "Attendee",
    "BaseSource",
    "Batch",
    "EventRecord",
    "FlagUpdate",
    "Known",
    "MessageRecord",
    "Problem",
    "Record",
    "Role",
    "Source",
    "Stream",
    "no_known",
]
