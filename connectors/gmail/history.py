"""Folding a page of Gmail history records into what to fetch, delete and relabel. Pure.

``users.history.list`` returns, in order, records of four kinds (the ``historyTypes`` we ask for):
``messagesAdded``, ``messagesDeleted``, ``labelsAdded``, ``labelsRemoved``. Each usually carries
the message's ``labelIds`` as they were after that change, but the reference warns that history
messages "will typically only have id and threadId fields populated": a message whose
``labelIds`` are missing is fetched (its labels are unknown, not empty), unless the change
itself says it went to SPAM/TRASH (a ``labelsAdded`` item names the labels it added). Folding
them in order gives one final action per message:

- added (not spam/trash/draft) → fetch its metadata;
- deleted, or moved into SPAM/TRASH → delete from the stream (it is no interaction any more);
- taken back out of SPAM/TRASH → fetch (the store dropped it);
- any other label change → a ``FlagUpdate`` with the new labels; no fetch, no quota.

Fetching returns the message's current state, so a message both added and relabelled in the same
page is fetched once, and replaying a page twice (a crash before its cursor landed) is harmless.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kith.connectors.gmail.records import EXCLUDED_LABELS, excluded

FETCH, DELETE = "fetch", "delete"


@dataclass
class Changes:
    fetch: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    relabel: dict[str, frozenset[str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.fetch or self.delete or self.relabel)


def fold(records: Iterable[Mapping[str, Any]]) -> Changes:
    state: dict[str, str | frozenset[str]] = {}
    for rec in records:
        for item in rec.get("messagesAdded") or ():
            msg = item.get("message") or {}
            mid = msg.get("id")
            if mid:
                state[mid] = DELETE if excluded(msg.get("labelIds") or ()) else FETCH
        for item in rec.get("messagesDeleted") or ():
            mid = (item.get("message") or {}).get("id")
            if mid:
                state[mid] = DELETE
        for kind in ("labelsAdded", "labelsRemoved"):
            for item in rec.get(kind) or ():
                msg = item.get("message") or {}
                mid = msg.get("id")
                if not mid:
                    continue
                changed = item.get("labelIds") or ()
                if "labelIds" not in msg:  # labels unknown: fetch them, unless this change trashed it
                    trashed = kind == "labelsAdded" and excluded(changed)
                    state[mid] = DELETE if trashed else FETCH
                    continue
                labels = frozenset(msg.get("labelIds") or ())
                before = state.get(mid)
                if excluded(labels):
                    state[mid] = DELETE
                elif before == FETCH:
                    continue  # the fetch brings the latest labels anyway
                elif before == DELETE or (kind == "labelsRemoved" and not EXCLUDED_LABELS.isdisjoint(changed)):
                    state[mid] = FETCH  # restored from trash or spam
                else:
                    state[mid] = labels
    out = Changes()
    for mid, action in state.items():
        if action == FETCH:
            out.fetch.append(mid)
        elif action == DELETE:
            out.delete.append(mid)
        else:
            out.relabel[mid] = action  # type: ignore[assignment]
    return out


__all__ = ["Changes", "fold"]
