"""`kith contacts` and `kith timeline`: the relationship picture, one line per person or one person."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from kith.analysis import kinds
from kith.cli.analysis import what
from kith.cli.app import app
from kith.cli.common import console, get_store, print_json
from kith.cli.tables import Column, print_table
from kith.report.formatting import cadence, hours
from kith.text import plural


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
        rows = []
        for c in found:
            why = c["automated_why"] or {}
            signals = ", ".join(f"{k} ×{n}" for k, n in (why.get("signals") or {}).items())
            rows.append(
                [escape(c["address"]), escape(c["name"]), f"{why.get('automated_share', 0):.0%} automated: {signals}"]
            )
        print_table(console, [Column("address"), Column("name", drop=1), Column("why", flex=True)], rows)
        return
    columns = [
        Column("contact", flex=True, min_width=30),
        Column("stage"),
        Column("strength", justify="right", drop=3),
        Column("cadence", drop=4),
        Column("last", drop=2),
        Column("in/out/bcast/meet", drop=5),
        Column("flags", justify="right", drop=1),
    ]
    rows = [
        [
            f"{escape(c['name'])}\n[dim]{escape(c['address'])}[/dim]" if c["name"] else escape(c["address"]),
            c["stage"] or "",
            str(c["strength"]),
            cadence(c["cadence_days"]),
            (c["last_interaction"] or "")[:10],
            f"{c['personal_in']}/{c['personal_out']}/{c['broadcast_out']}/{c['meetings']}",
            str(c["open_flags"]) if c["open_flags"] else "",
        ]
        for c in found
    ]
    print_table(console, columns, rows)


def _latency(side: dict[str, Any]) -> str:
    if side.get("median") is None:
        return "—"
    return f"median {hours(side['median'])}, p90 {hours(side.get('p90'))}"


DIRECTION = {"in": "from them", "out": "from you", "both": "both ways", "meeting": "meeting"}


def _summary(c: dict[str, Any]) -> list[tuple[str, str]]:
    evidence = c.get("stage_evidence") or {}
    latency = c.get("reply_latency_hours") or {}
    stage = c["stage"] or "—"
    if evidence.get("why"):
        stage += f": {evidence['why']}"
    cadence_days = c.get("cadence_days")
    rhythm = cadence(cadence_days)
    if cadence_days:
        rhythm += f" ({cadence_days:.1f} days between conversations)"
    return [
        ("stage", escape(stage)),
        ("strength", f"{c['strength']} of 100"),
        ("cadence", rhythm),
        ("last", (c["last_interaction"] or "never")[:10]),
        ("you reply", _latency(latency.get("mine") or {})),
        ("they reply", _latency(latency.get("theirs") or {})),
        (
            "counts",
            f"{c['personal_in']} personal in, {c['personal_out']} out, "
            f"{plural(c['broadcast_out'], 'broadcast')}, {plural(c['meetings'], 'meeting')}",
        ),
    ]


@app.command()
def timeline(
    ctx: typer.Context,
    who: Annotated[str, typer.Argument(help="An address, or a name (case and accents do not matter)")],
    recent: Annotated[int, typer.Option("--recent", help="How many recent conversations to show")] = 10,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """One contact: stage and why, cadence, reply times, flags and the recent conversations."""
    from kith.analysis.api import timeline as run

    with get_store(ctx).session() as session:
        out = run(session, who)
    if json_out:
        print_json(out)
        return
    c = out["contact"]
    title = (
        f"[bold]{escape(c['name'])}[/bold] <{escape(c['address'])}>"
        if c["name"]
        else f"[bold]{escape(c['address'])}[/bold]"
    )
    console.print(title)
    record = [Column("label"), Column("value", flex=True, min_width=30)]
    print_table(console, record, [[f"  {label}", value] for label, value in _summary(c)], header=False)
    if out["flags"]:
        console.print("\n[bold]flags[/bold]")
        rows = [[f"  {f['id']}", f"{kinds.name_of(f['kind'])} ({f['state']})", escape(what(f))] for f in out["flags"]]
        print_table(console, [Column("id"), Column("kind"), Column("what", flex=True)], rows, header=False)
    talks = out["conversations"][: max(0, recent)]
    if not talks:
        console.print("\nno personal conversations yet")
        return
    more = len(out["conversations"]) - len(talks)
    console.print(
        f"\n[bold]recent conversations[/bold] ({len(talks)} of {len(out['conversations'])})"
        if more
        else "\n[bold]conversations[/bold]"
    )
    rows = [
        [
            t["start"][:10],
            DIRECTION.get(t["direction"], t["direction"]),
            str(t["messages"]) if t["messages"] else "",
            escape(t["subject"] or ("(meeting)" if t["meetings"] else "(no subject)")),
        ]
        for t in talks
    ]
    columns = [
        Column("date"),
        Column("who spoke"),
        Column("msgs", justify="right", drop=1),
        Column("subject", flex=True),
    ]
    print_table(console, columns, rows)
