"""Every read and write the web app makes, each a thin call into store, analysis or report.

The pages never touch a table or decide a rule: they call these functions, which hand back plain
dicts and records. Keeping them here, few and named for what a page needs, keeps the web app a
view of what the analysis found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy.orm import Session

from kith.analysis import api as analysis
from kith.analysis import kinds
from kith.analysis.identity import normalise
from kith.analysis.person import (
    Row,
    contact_data,
    conversations,
    stage_history,
    strength_now,
    summary,
    weekly,
)
from kith.analysis.search import like_pattern
from kith.analysis.stages import STAGES
from kith.config.load import Config
from kith.report.actions import Linker
from kith.report.data import message_places, shape_items, sync_health
from kith.report.render import render_report
from kith.store import activity, merges, people
from kith.store import flags as flag_store
from kith.store.commands import REFUSED_WINDOW, refused_commands
from kith.store.health import analysis_health
from kith.store.status import mailbox_status
from kith.web.words import reason

#: Items shown per Today section before "show all".
SECTION_LIMIT = 30
SHOW_ALL_LIMIT = 500
CONVERSATIONS = 50


class NotFound(LookupError):
    """The page asked for a person, flag or report that does not exist."""


# -- Today --------------------------------------------------------------------------------------


def today(db: Session, config: Config, now: datetime, *, show: str | None = None) -> list[dict[str, Any]]:
    """The open flags in the report's sections and order, each item with its words and links.

    "Open in mail" is the report's own link (``report.actions.Linker``: Gmail's search in the
    mailbox's account, Graph's stored ``webLink``, else ``mid:``; for a person-level flag a new
    message to them and the last thread), so a flag opens the same message from either place."""
    # every open flag's head (no evidence but reconnect's) to count and order them; the full
    # flags only for the shown ones: at 1M messages there are ~5,000 open flags
    by_kind: dict[str, list[Any]] = {}
    for head in flag_store.open_flag_heads(db.connection(), now, evidence_of=kinds.RECONNECT.id):
        by_kind.setdefault(head["kind"], []).append(head)
    picked: dict[str, list[int]] = {}
    for kind in kinds.KINDS:
        heads = by_kind.get(kind.id, [])
        # the report's order (reconnect: longest silent first; the rest: oldest first)
        if kind is kinds.RECONNECT:
            heads.sort(key=lambda h: (str((h["evidence"] or {}).get("last_interaction") or ""), h["contact_address"]))
        else:
            heads.sort(key=lambda h: (h["since"].isoformat() if h["since"] else "", h["contact_address"]))
        limit = SHOW_ALL_LIMIT if show == kind.section else SECTION_LIMIT
        picked[kind.id] = [h["id"] for h in heads[:limit]]
    full = {f["id"]: f for f in analysis.flags(db, state="open", now=now, ids=[i for v in picked.values() for i in v])}
    out = []
    for kind in kinds.KINDS:
        key = kind.section
        shown = [full[i] for i in picked[kind.id] if i in full]
        total = len(by_kind.get(kind.id, []))
        ids = [str(f["message_id"]) for f in shown if f.get("message_id")]
        places = message_places(db, ids) if ids else {}
        items = shape_items(kind, shown, now=now, contacts={}, places=places)
        for item in items:
            item["reason"] = reason(kind, item)
            item["kind"] = kind.id
        out.append({"key": key, "title": kind.title, "advice": kind.advice, "total": total, "items": items})
    shown_items = [i for s in out for i in s["items"]]  # one lookup for every section's links
    links = Linker(db.connection(), config, now).open_links(
        (i["contact"]["address"], i.get("message_id")) for i in shown_items
    )
    for item in shown_items:
        item.update(links[(item["contact"]["address"], item.get("message_id"))])
    return out


def dismiss(db: Session, flag_id: int, now: datetime) -> dict[str, Any]:
    try:
        return analysis.dismiss(db, flag_id, now=now)
    except analysis.UnknownFlag as exc:
        raise NotFound(str(exc)) from exc


def snooze(db: Session, flag_id: int, until: datetime, now: datetime) -> dict[str, Any]:
    try:
        return analysis.snooze(db, flag_id, until, now=now)
    except analysis.UnknownFlag as exc:
        raise NotFound(str(exc)) from exc


# -- People -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PeoplePage:
    rows: list[dict[str, Any]]
    more: bool
    mailboxes: list[str]
    stages: dict[str, int]
    query: people.PeopleQuery = field(default_factory=people.PeopleQuery)


def people_page(
    db: Session,
    *,
    text: str = "",
    sort: str = "attention",
    stage: str = "",
    mailbox: str = "",
    automated: str = "no",
    page: int = 1,
) -> PeoplePage:
    q = people.PeopleQuery(
        like=like_pattern(text),
        sort=sort if sort in people.SORTS else "attention",
        stage=stage if stage in STAGES else None,
        mailbox=mailbox or None,
        automated={"no": False, "yes": True}.get(automated),
        offset=(max(1, page) - 1) * 50,
    )
    rows, more = people.people(db.connection(), q, stage_order=STAGES, overdue_kind=kinds.RECONNECT.id)
    return PeoplePage(rows, more, people.mailbox_names(db.connection()), people.stage_counts(db.connection()), q)


# -- Person -------------------------------------------------------------------------------------


def person(
    db: Session, config: Config, address: str, now: datetime, *, all_conversations: bool = False
) -> dict[str, Any]:
    """Everything the Person page shows, from the stored analysis and the analysis' functions."""
    canonical = people.canonical(db.connection(), normalise(address))
    if canonical is None:
        raise NotFound(f"no contact {address!r}")
    contact = analysis.contacts(db, automated=None, address=canonical)[0]
    rows = [Row(*r) for r in people.interactions_of(db.connection(), canonical)]
    at = people.analysed_at(db.connection()) or now
    data = contact_data(canonical, rows)
    weeks = weekly(rows, at)
    convs = conversations(rows, people.thread_sizes(db.connection(), [r.thread_key for r in rows if r.thread_key]))
    flags = analysis.flags(db, state=None, now=now, contact=canonical)
    addresses = people.addresses_of(db.connection(), canonical)
    return {
        "contact": contact,
        "addresses": addresses,
        "analysed_at": at,
        "weeks": weeks,
        "totals": summary(weeks),
        "stage_changes": stage_history(data, config.settings.analysis, at),
        "strength": strength_now(data, at),
        "conversations": convs if all_conversations else convs[:CONVERSATIONS],
        "conversations_total": len(convs),
        "flags": [
            {**f, "name": kinds.name_of(f["kind"]), "history": analysis.history(db, f["id"])["history"]} for f in flags
        ],
        "merges": merges.merges_into(db.connection(), addresses),
        "overdue_since": people.overdue_since(db.connection(), canonical, kind=kinds.RECONNECT.id),
    }


def merge(db: Session, address: str, target: str, now: datetime) -> int:
    """Record that ``address``'s contact is ``target``'s; the next analysis applies it."""
    a, t = people.canonical(db.connection(), normalise(address)), people.canonical(db.connection(), normalise(target))
    if a is None:
        raise NotFound(f"no contact {address!r} to merge")
    if t is None:
        raise NotFound(f"no contact {target!r}")
    if a == t:
        raise ValueError("that is the same person already")
    return merges.record_merge(db.connection(), a, t, now)


def undo_merge(db: Session, merge_id: int, now: datetime) -> dict[str, Any]:
    found = merges.undo_merge(db.connection(), merge_id, now)
    if found is None:
        raise NotFound(f"no merge {merge_id} in force")
    return found


# -- Sync health and reports -------------------------------------------------------------------


def health(db: Session, config: Config, now: datetime) -> dict[str, Any]:
    """Mailboxes and streams, the problems the report would name with their fixes, runs, items,
    and what ``kith status`` adds under its table: the analysis' backlog, last error and failed
    contacts, the messages from my address that no provider says I sent, and the reply-to-act
    commands refused lately (forged, expired, foreign, replayed: each did nothing)."""
    problems, total = activity.recorded_problems(db.connection())
    mailboxes = mailbox_status(db.connection(), now=now, me=config.my_addresses, cached=True)
    return {
        "mailboxes": mailboxes,
        "analysis": analysis_health(db.connection()),
        "forged_from_me": sum(mb["forged_from_me"] for mb in mailboxes),
        "attention": sync_health(db, config, now=now)["problems"],
        "runs": activity.recent_runs(db.connection()),
        "problems": problems,
        "problems_total": total,
        "commands": refused_commands(db.connection(), since=now - REFUSED_WINDOW),
        "commands_days": REFUSED_WINDOW.days,
    }


def reports(db: Session) -> list[dict[str, Any]]:
    return activity.sent_reports(db.connection())


def report(db: Session, report_id: int) -> dict[str, Any]:
    row = activity.report_payload(db.connection(), report_id)
    if row is None or not isinstance(row.get("payload"), dict) or "report" not in row["payload"]:
        raise NotFound(f"no report {report_id}")
    return row


@lru_cache(maxsize=16)
def _rendered(report_id: int, message_id: str, payload_json: str, timezone: str) -> tuple[str, str]:
    import json

    rendered = render_report(json.loads(payload_json)["report"], timezone=timezone)
    return rendered.html, rendered.text  # its charts are HTML bars: nothing to inline


def report_html(row: dict[str, Any], timezone: str) -> tuple[str, str]:
    """The report's HTML and text, rendered from what it was built from; a sent report never
    changes, so renderings are kept."""
    import json

    data = row["payload"]["report"]
    return _rendered(
        row["id"],
        str(row.get("message_id")),
        json.dumps(row["payload"], sort_keys=True),
        data.get("timezone") or timezone,
    )


__all__ = [
    "NotFound",
    "PeoplePage",
    "dismiss",
    "health",
    "merge",
    "people_page",
    "person",
    "report",
    "report_html",
    "reports",
    "snooze",
    "today",
    "undo_merge",
]
