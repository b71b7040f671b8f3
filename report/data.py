"""Build the report as plain data (JSON-able dicts) from the store and the analysis results.

Data first, rendering second: `kith report --json` prints exactly what the email shows. Flags and
contacts come from ``kith.analysis.api`` (the rules live there, not here); counts per day and
week come from the derived ``interactions`` table; my reply times from the synced messages (my
reply's In-Reply-To → the message it answers); sync health from ``kith.store.status``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from kith import __version__
from kith.analysis import kinds
from kith.analysis.kinds import FlagKind
from kith.config.load import Config
from kith.report.actions import decorate_sections, without_actions
from kith.report.numbers import interaction_counts, reply_times
from kith.report.sections import (
    MessageWhere,
    day_bounds,
    link_for,
    local_midnight,
    median,
    section,
    stage_changes,
    week_buckets,
)
from kith.store import reports
from kith.store.report_data import message_copies
from kith.store.status import mailbox_status

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class Built:
    """The report data plus what the next report compares against (every contact's stage)."""

    data: dict[str, Any]
    stages: dict[str, str]

    @property
    def payload(self) -> dict[str, Any]:
        """What the ledger keeps: the report without its signed action links (capabilities,
        like the key they are made with, stay out of the database)."""
        return {"report": without_actions(self.data), "stages": self.stages}


def recipient_of(config: Config) -> str:
    """``[report] to``, else my first configured address."""
    if config.settings.report.to:
        return config.settings.report.to
    mine = list(config.settings.me.addresses) + [a for mb in config.mailboxes for a in mb.addresses]
    if not mine:
        from kith.errors import ConfigError

        raise ConfigError("kith.toml: [report] to: no recipient (and no address under [me] or in any mailbox)")
    return mine[0]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _age_days(since: datetime | None, now: datetime) -> float | None:
    return None if since is None else round((now - since).total_seconds() / 86400, 2)


def _dt(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def message_places(session: Session, message_ids: Iterable[str]) -> dict[str, tuple[str | None, MessageWhere]]:
    """Message-ID → (subject, where it lives) for the few messages the report shows."""
    ids = sorted({m for m in message_ids if m})
    if not ids:
        return {}
    rows = message_copies(session.connection(), ids)
    acc: dict[str, dict[str, Any]] = {}
    for r in rows:
        a = acc.setdefault(
            r.message_key,
            {"subject": r.subject, "thread": r.thread_id, "kind": r.kind, "streams": [], "labels": [], "key": None},
        )
        # the same message seen in several mailboxes: prefer the copy that can be linked to
        if a["kind"] != "gmail" and r.kind == "gmail":
            a.update(subject=r.subject, thread=r.thread_id, kind=r.kind, streams=[], labels=[], key=None)
        if r.kind != a["kind"]:
            continue
        a["thread"] = a["thread"] or r.thread_id
        if r.stream:
            a["streams"].append(r.stream)
        if r.labels:
            a["labels"].extend(r.labels.split())
        a["key"] = a["key"] or r.provider_key
    return {
        mid: (
            a["subject"],
            MessageWhere(mid, a["kind"], a["thread"], tuple(a["streams"]), tuple(a["labels"]), a["key"]),
        )
        for mid, a in acc.items()
    }


def _flag_base(flag: dict[str, Any], now: datetime) -> dict[str, Any]:
    since = _dt(flag.get("since"))
    contact = flag.get("contact") or {}
    return {
        "flag_id": flag.get("id"),
        "contact": {"address": contact.get("address", ""), "name": contact.get("name") or ""},
        "since": _iso(since),
        "age_days": flag.get("age_days") if flag.get("age_days") is not None else _age_days(since, now),
    }


def _count(evidence: dict[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = evidence.get(key)
        if isinstance(value, int):
            return value
        if isinstance(value, list | tuple):
            return len(value)
    return None


def shape_items(
    kind: FlagKind,
    flags: Sequence[dict[str, Any]],
    *,
    now: datetime,
    contacts: dict[str, dict[str, Any]],
    places: dict[str, tuple[str | None, MessageWhere]],
) -> list[dict[str, Any]]:
    """Flags of one kind → report items, oldest first (reconnect: longest silent first). A kind
    with no shaping of its own here (a rule just added) keeps its evidence as it is."""
    items = []
    for flag in flags:
        item = _flag_base(flag, now)
        evidence = flag.get("evidence") or {}
        contact = contacts.get(item["contact"]["address"], {})
        if not item["contact"]["name"]:
            item["contact"]["name"] = contact.get("name") or ""
        if kind is kinds.UNANSWERED:
            mid = flag.get("message_id")
            subject, where = places.get(mid or "", (None, MessageWhere(mid)))
            item["message_id"] = mid
            item["subject"] = subject if subject is not None else evidence.get("subject")
            item["link"] = link_for(where)
        elif kind is kinds.BROADCAST_ONLY:
            item["broadcasts"] = _count(evidence, "broadcasts", "broadcast_count", "count", "messages")
        elif kind is kinds.ONE_SIDED:
            item["unanswered"] = _count(evidence, "unanswered", "consecutive", "count", "messages")
        elif kind is kinds.RECONNECT:
            last = _dt(contact.get("last_interaction") or evidence.get("last_interaction"))
            item["last_interaction"] = _iso(last)
            item["days_since"] = _age_days(last, now) if last else evidence.get("days_since")
            item["cadence_days"] = contact.get("cadence_days") or evidence.get("cadence_days")
        else:
            item["evidence"] = evidence
        items.append(item)
    if kind is kinds.RECONNECT:
        items.sort(key=lambda i: (i.get("last_interaction") or "", i["contact"]["address"]))
    else:
        items.sort(key=lambda i: (i.get("since") or "", i["contact"]["address"]))
    return items


def sync_health(session: Session, config: Config, *, now: datetime) -> dict[str, Any]:
    """Failing or lagging mailboxes, and any sign-in that needs ``kith auth NAME``."""
    configured = {mb.name: mb for mb in config.mailboxes}
    default_interval = config.settings.daemon.default_poll_interval
    problems = []
    rows = mailbox_status(session.connection(), now=now)
    rows = [r for r in rows if not configured or r["name"] in configured]
    for mb in rows:
        name = mb["name"]
        interval = getattr(configured.get(name), "poll_interval", None) or default_interval
        lag_limit = max(4 * interval, timedelta(hours=1)).total_seconds()
        if mb.get("auth_error"):
            problems.append(_problem(mb, f"sign-in refused: {mb['auth_error']}", f"kith auth {name}"))
        elif mb["state"] in ("error", "partial", "aborted") and mb.get("error"):
            problems.append(_problem(mb, f"last sync failed: {mb['error']}", f"kith sync {name}"))
        elif mb["state"] == "never synced" and mb.get("last_success") is None:
            problems.append(_problem(mb, "never synced", f"kith sync {name}"))
        elif mb.get("lag_seconds") is not None and mb["lag_seconds"] > lag_limit:
            hours = mb["lag_seconds"] / 3600
            problems.append(_problem(mb, f"no successful sync for {hours:.0f} hours", "kith status"))
        if mb.get("server_alert"):
            problems.append(_problem(mb, f"server says: {mb['server_alert']}", None))
    return {"healthy": not problems, "mailboxes": len(rows), "problems": problems}


def _problem(mb: dict[str, Any], text: str, fix: str | None) -> dict[str, Any]:
    return {"mailbox": mb["name"], "kind": mb["kind"], "state": mb["state"], "problem": text, "fix": fix}


def numbers(
    session: Session, config: Config, *, day: date
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """Day and week numbers, 12 weekly buckets, and the weekly reply-time trend (local calendar days)."""
    tz = config.settings.report.timezone
    me = config.my_addresses
    buckets = week_buckets(day, tz, 12)
    start_90 = local_midnight(day - timedelta(days=90), tz)
    end = local_midnight(day, tz)
    first = min(buckets[0][1], start_90)
    counts = interaction_counts(session, [(b[1], b[2]) for b in buckets] + [day_bounds(day - timedelta(days=1), tz)])
    replies = reply_times(session, me, start=first, end=end)
    weekly = []
    trend = []
    for (week_start, start, stop), c in zip(buckets, counts, strict=False):
        weekly.append({"week_start": week_start.isoformat(), **c})
        latencies = [h for at, h in replies if start <= at < stop]
        trend.append(
            {"week_start": week_start.isoformat(), "median_hours": median(latencies), "replies": len(latencies)}
        )
    day_start, day_end = day_bounds(day - timedelta(days=1), tz)
    day_lat = [h for at, h in replies if day_start <= at < day_end]
    last_90 = [h for at, h in replies if start_90 <= at < end]
    last_day = counts[-1]
    last_week = weekly[-1]
    nums = {
        "day": {
            "personal_in": last_day["personal_in"],
            "personal_out": last_day["personal_out"],
            "meetings": last_day["meetings"],
            "reply_median_hours": median(day_lat),
            "replies": len(day_lat),
        },
        "week": {
            "personal_in": last_week["personal_in"],
            "personal_out": last_week["personal_out"],
            "meetings": last_week["meetings"],
            "reply_median_hours": trend[-1]["median_hours"],
            "replies": trend[-1]["replies"],
        },
        "reply_median_90d_hours": median(last_90),
        "reply_median_90d_count": len(last_90),
    }
    return nums, weekly, trend


def build(session: Session, config: Config, *, day: date, now: datetime) -> Built:
    """Everything the report says for ``day``, as plain data."""
    from kith.analysis import api as analysis

    settings = config.settings.report
    max_items = settings.max_items
    contacts = {c["address"]: c for c in analysis.contacts(session)}
    open_flags = analysis.flags(session, kind=None, state="open", now=now)
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for flag in open_flags:
        by_kind.setdefault(flag["kind"], []).append(flag)
    sections = []
    for kind in kinds.KINDS:
        flags = by_kind.get(kind.id, [])
        # only the shown items need their message looked up (a day can have hundreds of flags)
        flags = sorted(flags, key=lambda f: (str(f.get("since") or ""), str(f.get("id"))))
        shown = [str(f["message_id"]) for f in flags[:max_items] if f.get("message_id")]
        places = message_places(session, shown) if shown else {}
        items = shape_items(kind, flags, now=now, contacts=contacts, places=places)
        sections.append(section(kind.section, items, max_items=max_items))
    stages = {a: c["stage"] for a, c in contacts.items() if c.get("stage") and not c.get("automated")}
    previous = reports.previous_payload(session, day=day)
    before = previous[1].get("stages") if previous and isinstance(previous[1], dict) else None
    changes = stage_changes(before, stages, {a: c.get("name") or "" for a, c in contacts.items()})
    nums, weekly, trend = numbers(session, config, day=day)
    sync = sync_health(session, config, now=now)
    stage_block = {
        "since": previous[0] if previous else None,
        "total": len(changes),
        "items": changes[:max_items],
        "more": max(0, len(changes) - max_items),
    }
    decorate_sections(session.connection(), config, sections, now, recipient=recipient_of(config))
    data = {
        "schema": SCHEMA_VERSION,
        "date": day.isoformat(),
        "timezone": settings.timezone,
        "generated_at": now.isoformat(),
        "kith_version": __version__,
        "recipient": recipient_of(config),
        "empty": not any(s["total"] for s in sections) and not changes and sync["healthy"],
        "sections": sections,
        "stage_changes": stage_block,
        "numbers": nums,
        "weekly": weekly,
        "reply_trend": trend,
        "sync": sync,
    }
    return Built(data=data, stages=stages)


__all__ = [
    "SCHEMA_VERSION",
    "Built",
    "build",
    "message_places",
    "numbers",
    "recipient_of",
    "shape_items",
    "sync_health",
]
