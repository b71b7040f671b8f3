"""What the CLI, the report and the daemon call: analyse, and read flags, contacts and timelines.

Listings return plain dicts in the JSON shapes DESIGN.md fixes (``kith flags --json``,
``kith contacts --json``), sorted by what needs attention first.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from kith.analysis import kinds
from kith.analysis.conversations import conversations
from kith.analysis.engine import run
from kith.analysis.identity import normalise
from kith.analysis.search import fold, like_pattern
from kith.config.load import Config
from kith.errors import KithError, UsageError
from kith.store.contacts import contact_of, contact_rows, interactions_of
from kith.store.engine import Store
from kith.store.flags import flag_events, flag_row, flag_rows, open_flags_per_contact, set_flag_state
from kith.store.merges import merges_in_force
from kith.store.people import PeopleQuery, people

STATES = ("open", "snoozed", "dismissed", "resolved")


class UnknownFlag(KithError):
    """No flag with that id."""


def _conn(target: Session | Connection) -> Connection:
    return target.connection() if isinstance(target, Session) else target


def analyze(
    target: Session | Connection, config: Config, *, now: datetime | None = None, rebuild: bool = False
) -> dict[str, Any]:
    """Bring the derived tables up to date. What changed is not passed in: the sync queues it in
    the same transaction as each batch (``analysis_queue``), so any caller finds the same work."""
    return run(_conn(target), config, now=now, rebuild=rebuild)


def analyze_touched(store: Store, config: Config, touched: set[str], *, now: datetime | None = None) -> dict[str, Any]:
    """The daemon's hook after a sync: one transaction of incremental analysis. ``touched`` only
    tells the caller's intent; the queue holds the actual work (see ``analyze``)."""
    with store.engine.begin() as conn:
        return run(conn, config, now=now)


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


def flags(
    target: Session | Connection,
    *,
    kind: str | None = None,
    state: str | None = "open",
    now: datetime | None = None,
    contact: str | None = None,
    ids: Collection[int] | None = None,
) -> list[dict[str, Any]]:
    """Flags, most urgent first (``ids``: only these). A snooze whose date has come counts as open."""
    now = now or datetime.now(UTC)
    conn = _conn(target)
    out = []
    # narrowed in SQL too (the test below stays the truth): most rows are resolved flags
    for r in flag_rows(conn, kind=kind, contact=contact, state=state, now=now, ids=ids):
        st = r["state"]
        if st == "snoozed" and r["snoozed_until"] is not None and r["snoozed_until"] <= now:
            st = "open"
        if state and st != state:
            continue
        since = r["since"]
        out.append(
            {
                "id": r["id"],
                "kind": r["kind"],
                "state": st,
                "contact": {"address": r["contact_address"], "name": r["name"] or ""},
                "message_id": r["message_id"],
                "since": _iso(since),
                "age_days": round((now - since).total_seconds() / 86400, 1) if since else None,
                "evidence": r["evidence"] or {},
                "reason": r["reason"],
                "snoozed_until": _iso(r["snoozed_until"]),
            }
        )
    out.sort(
        key=lambda f: (
            STATES.index(f["state"]) if f["state"] in STATES else 9,
            kinds.rank(f["kind"]),
            f["since"] or "",
            f["id"],
        )
    )
    return out


def _set_state(
    target: Session | Connection, flag_id: int, values: dict[str, Any], reason: str, now: datetime
) -> dict[str, Any]:
    conn = _conn(target)
    if not set_flag_state(conn, flag_id, values, reason, now):
        raise UnknownFlag(f"no flag with id {flag_id}; `kith flags --state all` lists them")
    return history(conn, flag_id)


def dismiss(
    target: Session | Connection, flag_id: int, *, now: datetime | None = None, by: str = "by the user"
) -> dict[str, Any]:
    """Dismissed flags stay dismissed until new evidence arrives. ``by`` says how, in the history
    (``by email at …``: a reply-to-act command)."""
    now = now or datetime.now(UTC)
    return _set_state(target, flag_id, {"state": "dismissed", "snoozed_until": None}, f"dismissed {by}", now)


def snooze(
    target: Session | Connection, flag_id: int, until: datetime, *, now: datetime | None = None, by: str = ""
) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    if until.tzinfo is None:
        until = until.replace(tzinfo=UTC)
    if until <= now:  # a snooze into the past would hide nothing and say nothing
        raise UsageError(f"cannot snooze until {until:%Y-%m-%d}: that is not in the future")
    return _set_state(
        target,
        flag_id,
        {"state": "snoozed", "snoozed_until": until},
        " ".join(filter(None, ("snoozed", by, f"until {until:%Y-%m-%d}"))),
        now,
    )


def history(target: Session | Connection, flag_id: int) -> dict[str, Any]:
    conn = _conn(target)
    row = flag_row(conn, flag_id)
    if row is None:
        raise UnknownFlag(f"no flag with id {flag_id}")
    events = flag_events(conn, flag_id)
    return {
        "id": row["id"],
        "kind": row["kind"],
        "state": row["state"],
        "contact": row["contact_address"],
        "history": [{"at": _iso(at), "state": st, "reason": reason} for at, st, reason in events],
    }


def contacts(
    target: Session | Connection, *, automated: bool | None = False, address: str | None = None
) -> list[dict[str, Any]]:
    """Contacts with their stats, those with open flags first, then the weakest-but-real ties."""
    conn = _conn(target)
    merged = _merged_into(conn)
    open_flags = open_flags_per_contact(conn)
    out = []
    for r in contact_rows(conn, automated=automated, address=address):
        out.append(
            {
                "address": r["address"],
                "name": r["name"] or "",
                "automated": bool(r["automated"]),
                "automated_why": r["automated_why"],
                "stage": r["stage"],
                "stage_evidence": r["stage_evidence"],
                "strength": r["strength"] or 0,
                "last_interaction": _iso(r["last_interaction"]),
                "first_seen": _iso(r["first_seen"]),
                "personal_in": r["personal_in"] or 0,
                "personal_out": r["personal_out"] or 0,
                "broadcast_out": r["broadcast_out"] or 0,
                "meetings": r["meetings"] or 0,
                "cadence_days": r["cadence_days"],
                "reply_latency_hours": {
                    "mine": {"median": r["my_reply_median_h"], "p90": r["my_reply_p90_h"]},
                    "theirs": {"median": r["their_reply_median_h"], "p90": r["their_reply_p90_h"]},
                },
                "reciprocity": r["reciprocity"],
                "open_flags": open_flags.get(r["address"], 0),
                "merged": merged.get(r["address"], []),
            }
        )
    out.sort(key=lambda c: (-c["open_flags"], c["automated"], -(c["strength"] or 0), c["address"]))
    return out


def _merged_into(conn: Connection) -> dict[str, list[str]]:
    """Contact -> the addresses merged into it (the web app's *Merge*, in force), following a
    merge into a contact that was itself merged on."""
    target = dict(merges_in_force(conn))
    out: dict[str, list[str]] = {}
    for address in target:
        owner, seen = address, {address}
        while owner in target and target[owner] not in seen:
            owner = target[owner]
            seen.add(owner)
        out.setdefault(owner, []).append(address)
    return {k: sorted(v) for k, v in out.items()}


def resolve_contact(target: Session | Connection, address: str) -> str | None:
    """The canonical contact for any of its addresses (an alias, another case)."""
    conn = _conn(target)
    return contact_of(conn, normalise(address))


def find_contact(target: Session | Connection, who: str) -> str:
    """The canonical address of the one contact ``who`` names: an address (any alias of it) or a
    name, case and accents ignored. Several people of that name are a usage error listing them."""
    conn = _conn(target)
    canonical = resolve_contact(conn, who)
    if canonical is not None:
        return canonical
    like = like_pattern(who)
    rows = (
        people(
            conn,
            PeopleQuery(like=like, sort="name", automated=None, limit=20),
            stage_order=(),
            overdue_kind=kinds.RECONNECT.id,
        )[0]
        if like
        else []
    )
    exact = [r for r in rows if fold(r["name"] or "") == fold(who)]
    found = exact if len(exact) == 1 else rows
    if len(found) == 1:
        return str(found[0]["address"])
    if not found:
        raise UsageError(f"no contact {who!r} (by address or name)", hint="`kith contacts` lists them")
    listed = "".join(f"\n  {r['name']} <{r['address']}>" for r in found)
    raise UsageError(f"{who!r} names {len(found)} contacts:{listed}", hint="give the address of the one you mean")


def timeline(target: Session | Connection, who: str, *, now: datetime | None = None) -> dict[str, Any]:
    """One contact (by address or name): stats, flags, conversations and every interaction, newest first."""
    conn = _conn(target)
    canonical = find_contact(conn, who)
    contact = contacts(conn, automated=None, address=canonical)[0]
    interactions = [
        {"at": _iso(at), "kind": k, "personal": p, "broadcast": b, "subject": s, "message_key": mk}
        for at, k, p, b, s, mk in interactions_of(conn, canonical)
    ]
    return {
        "contact": contact,
        "flags": flags(conn, state=None, now=now, contact=canonical),
        "conversations": [{**c, "start": _iso(c["start"]), "end": _iso(c["end"])} for c in conversations(interactions)],
        "interactions": interactions,
    }


__all__ = [
    "UnknownFlag",
    "analyze",
    "analyze_touched",
    "contacts",
    "dismiss",
    "find_contact",
    "flags",
    "history",
    "resolve_contact",
    "snooze",
    "timeline",
]
