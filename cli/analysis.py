"""`kith analyze` and `kith flags` (+ dismiss, snooze, history)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

import typer
from rich.markup import escape

from kith.analysis import kinds
from kith.cli.app import app
from kith.cli.common import console, get_config, get_store, print_json
from kith.cli.params import future_day, one_of
from kith.cli.tables import Column, print_table
from kith.report.formatting import cadence
from kith.text import plural

flags_app = typer.Typer(help="What needs attention: list, dismiss, snooze.", no_args_is_help=False)
app.add_typer(flags_app, name="flags")


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
    counts = sorted(summary["open_flags"].items(), key=lambda kv: kinds.rank(kv[0]))
    flags = ", ".join(f"{n} {kinds.name_of(k)}" for k, n in counts) or "nothing open"
    console.print(
        f"analysis ({summary['mode']}): {summary['messages']} messages, {summary['contacts']} contacts "
        f"in {summary['seconds']} s; open: {flags}"
    )


def _days(value: object) -> str:
    return plural(round(float(value)), "day") if isinstance(value, int | float) else "some days"


def what(f: dict[str, Any]) -> str:
    """The flag's evidence as a sentence, with its units (a kind with no sentence of its own here,
    a rule just added, says its advice)."""
    ev = f.get("evidence") or {}
    kind = kinds.by_id(f["kind"])
    if kind is kinds.UNANSWERED:
        return str(ev.get("subject") or f.get("message_id") or "(no subject)")
    if kind is kinds.BROADCAST_ONLY:
        return f"{plural(int(ev.get('broadcasts') or 0), 'broadcast')} from you, no personal message"
    if kind is kinds.ONE_SIDED:
        n = int(ev.get("unanswered") or 0)
        return f"{plural(n, 'message')} of yours unanswered over {_days(ev.get('span_days'))}"
    if kind is kinds.RECONNECT:
        return f"{_days(ev.get('days_since'))} since you were last in touch; usually {cadence(ev.get('cadence_days'))}"
    return kind.advice if kind else ""


def who(contact: dict[str, Any]) -> str:
    """``Name <address>`` (the name in bold), or the address; never cut."""
    name, address = escape(contact.get("name") or ""), escape(contact.get("address") or "")
    return f"[bold]{name}[/bold] <{address}>" if name else f"[bold]{address}[/bold]"


STATE_CHOICES = ("open", "snoozed", "dismissed", "resolved", "all")


def flag_kind(value: str | None) -> str | None:
    """``--kind``: a kind's id or the name ``kith flags`` shows (``respond``, ``pull back``, any
    case, ``-`` or ``_`` for the space), as its id; else a usage error listing both spellings."""
    if value is None:
        return None
    kind = kinds.lookup(value)
    if kind is None:
        raise typer.BadParameter(f"{value!r} is not a flag kind; use one of: {', '.join(kinds.choices())}")
    return kind.id


def _complete_kind(incomplete: str) -> list[tuple[str, str]]:
    """Shell completion of ``--kind`` (``kith --install-completion``): each id, and each display
    name that differs from it with ``-`` for its space (``pull-back``), that starts with what was
    typed (Typer keeps only those)."""
    values = ((value, k.name) for k in kinds.KINDS for value in dict.fromkeys((k.id, k.name.replace(" ", "-"))))
    return [(value, name) for value, name in values if value.startswith(incomplete)]


@flags_app.callback(invoke_without_command=True)
def flags(
    ctx: typer.Context,
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind",
            parser=flag_kind,
            autocompletion=_complete_kind,
            help="A flag kind, by id or by the name shown: " + ", ".join(kinds.choices()),
        ),
    ] = None,
    state: Annotated[
        str,
        typer.Option(
            "--state", parser=lambda v: one_of(v, STATE_CHOICES, what="flag state"), help=", ".join(STATE_CHOICES)
        ),
    ] = "open",
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List flags, what needs attention first."""
    if ctx.invoked_subcommand is not None:
        return
    from kith.analysis.api import flags as list_flags

    store = get_store(ctx)
    with store.session() as session:
        found = list_flags(session, kind=kind, state=None if state == "all" else state)
        if json_out:  # each flag's best link into the mail program (issue 27)
            from kith.report.actions import decorate_flags

            decorate_flags(session.connection(), get_config(ctx), found)
    if json_out:
        print_json(found)
        return
    if not found:
        console.print(f"no {state} flags" + (f" of kind {kinds.name_of(kind)}" if kind else ""))
        return
    columns = [
        Column("id", justify="right"),
        Column("kind"),
        Column("age", justify="right"),
        Column("since", drop=2),
        Column("state", drop=1),
        Column("who / what", flex=True, min_width=44),
    ]
    rows = [
        [
            str(f["id"]),
            kinds.name_of(f["kind"]),
            f"{round(f['age_days'])}d" if f["age_days"] is not None else "—",
            (f["since"] or "")[:10],
            f["state"],
            f"{who(f['contact'])}\n{escape(what(f))}",
        ]
        for f in found
    ]
    if state != "all":  # one state for every row: no column for it
        columns.pop(4)
        rows = [row[:4] + row[5:] for row in rows]
    print_table(console, columns, rows)


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
    until: Annotated[date, typer.Option("--until", parser=future_day, help="A day after today, YYYY-MM-DD")],
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Hide a flag until a date; it returns then if it still holds."""
    from kith.analysis.api import snooze as run

    with get_store(ctx).session() as session:
        out = run(session, flag_id, datetime.combine(until, datetime.min.time(), tzinfo=UTC))
    print_json(out) if json_out else console.print(f"snoozed flag {flag_id} until {until}")


@flags_app.command("history")
def history(ctx: typer.Context, flag_id: int, json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every state a flag went through, when and why."""
    from kith.analysis.api import history as run

    with get_store(ctx).session() as session:
        out = run(session, flag_id)
    if json_out:
        print_json(out)
        return
    console.print(f"flag {out['id']}: {kinds.name_of(out['kind'])} for {escape(out['contact'])}, now {out['state']}")
    rows = [[(h["at"] or "")[:16].replace("T", " "), h["state"], escape(h["reason"] or "")] for h in out["history"]]
    print_table(console, [Column("when (UTC)"), Column("state"), Column("why", flex=True)], rows)
