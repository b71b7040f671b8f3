"""`kith analyze`, `kith flags` (+ dismiss, snooze, history), `kith contacts`, `kith timeline`."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from kith.cli.app import app
from kith.cli.common import console, get_config, get_store, print_json
from kith.errors import ConfigError

flags_app = typer.Typer(help="What needs attention: list, dismiss, snooze.", no_args_is_help=False)
app.add_typer(flags_app, name="flags")

KIND_LABEL = {
    "unanswered": "respond",
    "one_sided": "pull back",
    "reconnect": "reconnect",
    "broadcast_only": "broadcast only",
}


@app.command()
def analyze(
    ctx: typer.Context,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Recompute every derived table from scratch")] = False,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Bring contacts, interactions, flags and stages up to date with the synced mail."""
    from kith.analysis.api import analyze as run

    config, store = get_config(ctx), get_store(ctx)
    with store.session() as session:
        summary = run(session, config, rebuild=rebuild)
    if json_out:
        print_json(summary)
        return
    flags = ", ".join(f"{n} {KIND_LABEL.get(k, k)}" for k, n in summary["open_flags"].items()) or "nothing open"
    console.print(
        f"analysis ({summary['mode']}): {summary['messages']} messages, {summary['contacts']} contacts "
        f"in {summary['seconds']} s; open: {flags}"
    )


def _what(f: dict[str, Any]) -> str:
    ev = f.get("evidence") or {}
    if f["kind"] == "unanswered":
        return str(ev.get("subject") or f.get("message_id") or "")
    if f["kind"] == "broadcast_only":
        return f"{ev.get('broadcasts')} broadcasts, no personal word"
    if f["kind"] == "one_sided":
        return f"{ev.get('unanswered')} of your messages unanswered over {ev.get('span_days')} days"
    return f"{ev.get('days_since')} days since you were in touch (usually every {ev.get('cadence_days')})"


@flags_app.callback(invoke_without_command=True)
def flags(
    ctx: typer.Context,
    kind: Annotated[str | None, typer.Option("--kind", help="unanswered, broadcast_only, one_sided, reconnect")] = None,
    state: Annotated[str, typer.Option("--state", help="open, snoozed, dismissed, resolved or all")] = "open",
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List flags, what needs attention first."""
    if ctx.invoked_subcommand is not None:
        return
    from kith.analysis.api import KINDS
    from kith.analysis.api import flags as list_flags

    if kind is not None and kind not in KINDS:
        raise ConfigError(f"--kind: {kind!r} is not one of {', '.join(KINDS)}")
    store = get_store(ctx)
    with store.session() as session:
        found = list_flags(session, kind=kind, state=None if state == "all" else state)
    if json_out:
        print_json(found)
        return
    if not found:
        console.print(f"no {state} flags")
        return
    table = Table("id", "kind", "who", "what", "age (days)", "state")
    for f in found:
        who = f["contact"]["name"] or f["contact"]["address"]
        if f["contact"]["name"]:
            who += f" <{f['contact']['address']}>"
        table.add_row(str(f["id"]), KIND_LABEL.get(f["kind"], f["kind"]), who, _what(f), str(f["age_days"]), f["state"])
    console.print(table)


def _day(value: str) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(value), datetime.min.time(), tzinfo=UTC)
    except ValueError as exc:
        raise ConfigError(f"--until: {value!r} is not a date (use YYYY-MM-DD)") from exc


@flags_app.command("dismiss")
def dismiss(ctx: typer.Context, flag_id: int, json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Dismiss a flag; it comes back only if new evidence arrives."""
    from kith.analysis.api import dismiss as run

    with get_store(ctx).session() as session:
        out = run(session, flag_id)
    print_json(out) if json_out else console.print(f"dismissed flag {flag_id} ({out['kind']}, {out['contact']})")


@flags_app.command("snooze")
def snooze(
    ctx: typer.Context,
    flag_id: int,
    until: Annotated[str, typer.Option("--until", help="YYYY-MM-DD")],
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Hide a flag until a date; it returns then if it still holds."""
    from kith.analysis.api import snooze as run

    with get_store(ctx).session() as session:
        out = run(session, flag_id, _day(until))
    print_json(out) if json_out else console.print(f"snoozed flag {flag_id} until {until}")


@flags_app.command("history")
def history(ctx: typer.Context, flag_id: int) -> None:
    """Every state a flag went through, and why."""
    from kith.analysis.api import history as run

    with get_store(ctx).session() as session:
        print_json(run(session, flag_id))


@app.command()
def contacts(
    ctx: typer.Context,
    automated: Annotated[bool, typer.Option("--automated", help="List automated senders, with why")] = False,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Contacts with stage, strength and counts; those needing attention first."""
    from kith.analysis.api import contacts as list_contacts

    with get_store(ctx).session() as session:
        found = list_contacts(session, automated=automated)
    if json_out:
        print_json(found)
        return
    if automated:
        table = Table("address", "name", "why")
        for c in found:
            why = c["automated_why"] or {}
            signals = ", ".join(f"{k} ×{n}" for k, n in (why.get("signals") or {}).items())
            table.add_row(c["address"], c["name"], f"{why.get('automated_share', 0):.0%} automated: {signals}")
    else:
        table = Table("address", "name", "stage", "strength", "last", "in/out/bcast/meet", "open flags")
        for c in found:
            counts = f"{c['personal_in']}/{c['personal_out']}/{c['broadcast_out']}/{c['meetings']}"
            last = (c["last_interaction"] or "")[:10]
            table.add_row(
                c["address"], c["name"], c["stage"] or "", str(c["strength"]), last, counts, str(c["open_flags"])
            )
    console.print(table)


@app.command()
def timeline(ctx: typer.Context, address: str, json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """One contact: stats, flags and every interaction, newest first."""
    from kith.analysis.api import timeline as run

    with get_store(ctx).session() as session:
        out = run(session, address)
    if json_out:
        print_json(out)
        return
    c = out["contact"]
    console.print(
        f"[bold]{c['name'] or c['address']}[/bold] <{c['address']}>  stage {c['stage']}, strength {c['strength']}"
    )
    for f in out["flags"]:
        console.print(f"  flag {f['id']} {KIND_LABEL.get(f['kind'], f['kind'])} ({f['state']}): {_what(f)}")
    table = Table("when", "kind", "personal", "subject")
    for i in out["interactions"]:
        table.add_row(
            i["at"][:16],
            i["kind"],
            "yes" if i["personal"] else ("broadcast" if i["broadcast"] else "no"),
            i["subject"] or "",
        )
    console.print(table)
