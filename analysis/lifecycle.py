"""Flag lifecycle: stable keys, auto-resolve with a reason, dismiss and snooze that stick.

``transitions`` is pure: given what the rules found for some contacts and the flags already
stored for them, it says what to insert, what to change and what to write into the history.
A dismissed flag stays dismissed until its evidence mark changes (new evidence); a snoozed one
comes back on its date if the rule still holds; an open one whose rule no longer holds is
resolved with the rule's own reason when it gave one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kith.analysis import kinds
from kith.analysis.model import Finding


@dataclass(frozen=True, slots=True)
class Stored:
    id: int
    kind: str
    key: str
    state: str
    mark: str
    snoozed_until: datetime | None


@dataclass
class Changes:
    insert: list[dict[str, Any]] = field(default_factory=list)
    #: flag id → column values
    update: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: (flag id or the key of a new flag, state, reason)
    history: list[tuple[int | str, str, str]] = field(default_factory=list)


def transitions(
    contact: str, findings: Iterable[Finding], stored: Mapping[str, Stored], now: datetime, *, scope_all: bool = True
) -> Changes:
    """What to write for one contact. ``stored`` maps flag key → stored flag of this contact."""
    ch = Changes()
    open_now = {f.key: f for f in findings if f.reason is None}
    resolved_now = {f.key: f for f in findings if f.reason is not None}
    for key, f in open_now.items():
        values = {
            "evidence": f.evidence,
            "since": f.since,
            "message_id": f.message_id,
            "evidence_mark": f.mark,
        }
        s = stored.get(key)
        if s is None:
            ch.insert.append(
                {**values, "kind": f.kind, "key": key, "contact_address": contact, "state": "open", "opened_at": now}
            )
            ch.history.append((key, "open", "found"))
            continue
        if s.state == "open":
            ch.update[s.id] = values
        elif s.state == "resolved":
            ch.update[s.id] = {**values, "state": "open", "resolved_at": None, "reason": None, "opened_at": now}
            ch.history.append((s.id, "open", "the rule holds again"))
        elif s.state == "dismissed":
            if f.mark != s.mark:
                ch.update[s.id] = {**values, "state": "open", "reason": None}
                ch.history.append((s.id, "open", "new evidence after it was dismissed"))
        elif s.state == "snoozed":
            if s.snoozed_until is None or s.snoozed_until <= now:
                ch.update[s.id] = {**values, "state": "open", "snoozed_until": None}
                ch.history.append((s.id, "open", "snooze ended"))
            else:
                ch.update[s.id] = values
    if scope_all:
        for key, s in stored.items():
            if key in open_now or s.state not in ("open", "snoozed"):
                continue
            gone = resolved_now.get(key)
            reason = gone.reason if gone is not None and gone.reason else kinds.gone_reason(s.kind)
            ch.update[s.id] = {"state": "resolved", "resolved_at": now, "reason": reason, "snoozed_until": None}
            ch.history.append((s.id, "resolved", reason))
    return ch


__all__ = ["Changes", "Stored", "transitions"]
