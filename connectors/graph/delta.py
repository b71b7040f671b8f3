"""Graph's delta query as a sequence of batches; shared by the mail folders and the calendar.

Graph answers a delta request with pages linked by ``@odata.nextLink``; the last page carries
``@odata.deltaLink`` instead, the link that later returns only what changed. Removed items come
as ``{"id": ..., "@removed": {"reason": ...}}``. This module turns that into ``Batch`` objects:

- one batch per page; its cursor is ``{"next": nextLink}`` while paging (a crash resumes the
  paging where it stopped) and ``{"delta": deltaLink}`` only with the last page, so a deltaLink is
  never stored before every page before it has landed;
- within a page the last entry for an id wins (Graph may list an item twice while paging);
- a full listing (``gen`` set: the initial round) tags its upserts with ``GEN:`` in
  ``versions`` and keeps ``gen`` in the paging cursor; on its last page whatever the store holds
  for the stream without this tag is deleted, so a resync after an expired token leaves neither
  duplicates nor ghosts, even if the resync itself was interrupted and resumed;
- a no-change poll whose deltaLink did not move yields nothing (no transaction at all).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from kith.connectors.base import JSON, Batch, Known, Problem, Record
from kith.connectors.graph.client import GraphClient
from kith.errors import CursorExpired, KithError

log = logging.getLogger(__name__)

#: Turns one page's live items (id → item, ``@removed`` ones excluded) into records, ids gone, problems.
Convert = Callable[[dict[str, Mapping[str, Any]]], tuple[Sequence[Record], Sequence[str], Sequence[Problem]]]


def start_url(cursor: JSON | None, first: Callable[[], str]) -> tuple[str, str | None]:
    """Where a pull starts and its listing generation (None for an incremental pull)."""
    if cursor is None:
        return first(), uuid.uuid4().hex[:12]
    if isinstance(cursor.get("next"), str):
        gen = cursor.get("gen")
        return cursor["next"], gen if isinstance(gen, str) else None
    if isinstance(cursor.get("delta"), str):
        return cursor["delta"], None
    raise CursorExpired("the stored Graph cursor is from another version")


def delta_batches(
    client: GraphClient,
    url: str,
    gen: str | None,
    known: Known,
    convert: Convert,
    *,
    headers: Mapping[str, str],
    what: str,
    extra: JSON | None = None,
    stats: Any = None,
) -> Iterator[Batch]:
    """Follow ``url`` to the deltaLink, one ``Batch`` per page (see the module docstring).

    ``extra`` is merged into every cursor (the calendar keeps its window there).
    """
    start = url
    while True:
        page = client.get(url, headers=headers)
        if stats is not None:
            stats["pages"] += 1
        next_link, delta = page.get("@odata.nextLink"), page.get("@odata.deltaLink")
        if not next_link and not delta:
            raise KithError(f"Graph returned a page of {what} without a nextLink or deltaLink")
        live: dict[str, Mapping[str, Any]] = {}
        removed: dict[str, None] = {}
        for item in page.get("value") or ():
            if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
                continue
            key = item["id"]
            live.pop(key, None)
            removed.pop(key, None)
            if "@removed" in item:
                removed[key] = None
            else:
                live[key] = item
        records, gone, problems = convert(live)
        deletions = [*removed, *gone]
        versions: dict[str, str] = {}
        cursor: JSON = {"next": next_link, **({"gen": gen} if gen else {})} if next_link else {"delta": delta}
        cursor.update(extra or {})
        if gen:
            versions = {r.provider_key: f"{gen}:" for r in records}
            if not next_link:  # the listing is complete: drop what it did not list
                mark = f"{gen}:"
                stale = [k for k, v in known().items() if not (v or "").startswith(mark) and k not in live]
                if stale:
                    log.info("%s: %d item(s) no longer listed", what, len(stale))
                deletions += stale
        if not (records or deletions or problems) and not next_link and delta == start:
            return
        yield Batch(
            upserts=tuple(records),
            deletions=tuple(dict.fromkeys(deletions)),
            problems=tuple(problems),
            versions=versions,
            cursor=cursor,
        )
        if not next_link:
            return
        url = next_link


__all__ = ["Convert", "delta_batches", "start_url"]
