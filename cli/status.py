"""`kith status`: is a daemon running, and every mailbox and stream: state, lag, counts, errors.

The first line answers the question people ask first: will anything sync if I do nothing? The
table then has one row per mailbox and one per stream under it. Columns that say nothing for
this database (no failures, no problems, no daemon to schedule a next run) are left out, and the
rest give way by importance on a narrow terminal (see kith.cli.tables).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from rich.markup import escape

from kith.cli.app import app
from kith.cli.common import console, get_config, get_store, print_json
from kith.cli.tables import Column, print_table
from kith.store.commands import REFUSED_WINDOW, refused_commands
from kith.store.health import analysis_health
from kith.store.models import utcnow
from kith.store.status import daemon_status, mailbox_status

#: How far back `kith status` looks for refused reply-to-act commands.
COMMANDS_WINDOW = REFUSED_WINDOW
STATE_COLOUR = {"ok": "green", "partial": "yellow", "syncing": "cyan", "never synced": "dim"}


def duration(seconds: float) -> str:
    """``42s``, ``4m30s``, ``3h05m``, ``2d04h``: short enough for a table cell."""
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def when(ts: datetime | None) -> str:
    return ts.strftime("%Y-%m-%d %H:%M") if ts is not None else "never"


def next_run(seconds: float | None) -> str:
    """When the daemon syncs the mailbox next, from ``next_run_in_seconds`` (negative: overdue)."""
    if seconds is None:
        return "not scheduled"
    if seconds >= 1:
        return f"in {duration(seconds)}"
    if seconds > -60:
        return "due now"
    return f"[yellow]overdue {duration(-seconds)}[/yellow]"


def daemon_lines(daemon: dict[str, Any], now: datetime) -> list[str]:
    """Running (which workers, their last heartbeat), or not and since when, and what that means."""
    label = "daemon    "
    running = daemon["running"]
    if running:
        return [
            f"{label if i == 0 else ' ' * len(label)}[green]running[/green]: {escape(w['worker'])}, "
            f"heartbeat {duration((now - w['last_beat']).total_seconds())} ago"
            for i, w in enumerate(running)
        ]
    seen = daemon["last_seen"]
    if seen is None:
        first = f"{label}[yellow]none has run on this database[/yellow]"
    else:
        ago = duration((now - seen["at"]).total_seconds())
        first = (
            f"{label}[yellow]not running[/yellow]; last seen {when(seen['at'])} UTC "
            f"({ago} ago, {escape(str(seen['worker']))})"
        )
    return [first, " " * len(label) + "nothing syncs until you run `kith sync` or start `kith run`"]


def _cell(value: int) -> str:
    return f"[red]{value}[/red]" if value else "0"


def rows_of(mailboxes: list[dict[str, Any]], *, daemon_running: bool) -> tuple[list[Column], list[list[str]]]:
    """The table's columns (only those that say something here) and rows."""
    show = {
        "next run": daemon_running,
        "failures": any(mb["failures"] for mb in mailboxes),
        "syncing on": any(mb["syncing_on"] for mb in mailboxes),
        "problems": any(mb["problems"] for mb in mailboxes),
        "error": any(mb["error"] or mb["server_alert"] for mb in mailboxes)
        or any(st["last_error"] for mb in mailboxes for st in mb["streams"]),
    }
    columns = [
        Column("mailbox / stream"),
        Column("role", drop=5),
        Column("state"),
        Column("items", justify="right"),
        Column("lag", justify="right"),
        Column("last success (UTC)", drop=4),
        Column("next run", drop=2),
        Column("failures", drop=3, justify="right"),
        Column("syncing on", drop=6),
        Column("problems", drop=1, justify="right"),
        Column("error", flex=True),
    ]
    rows: list[dict[str, str]] = []
    for mb in mailboxes:
        colour = STATE_COLOUR.get(mb["state"], "red")
        rows.append(
            {
                "mailbox / stream": f"[bold]{escape(mb['name'])}[/bold] ({mb['kind']})",
                "state": f"[{colour}]{mb['state']}[/{colour}]",
                "items": str(mb["items"]),
                "lag": duration(mb["lag_seconds"]) if mb["lag_seconds"] is not None else "—",
                "last success (UTC)": when(mb["last_success"]),
                "next run": next_run(mb["next_run_in_seconds"]),
                "failures": _cell(mb["failures"] or 0),
                "syncing on": escape(mb["syncing_on"] or ""),
                "problems": _cell(mb["problems"]),
                "error": escape(mb["error"] or mb["server_alert"] or ""),
            }
        )
        for st in mb["streams"]:
            if not st["present"]:
                continue
            rows.append(
                {
                    "mailbox / stream": f"  {escape(st['name'])}",
                    "role": st["role"] or "",
                    "state": "[red]error[/red]" if st["last_error"] else "[green]ok[/green]",
                    "items": str(st["items"]),
                    "lag": duration(st["lag_seconds"]) if st["lag_seconds"] is not None else "—",
                    "last success (UTC)": when(st["last_success"]),
                    "problems": _cell(st["problems"]),
                    "error": escape(st["last_error"] or ""),
                }
            )
    kept = [c for c in columns if show.get(c.header, True)]
    return kept, [[row.get(c.header, "") for c in kept] for row in rows]


@app.command()
def status(ctx: typer.Context, json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Whether a daemon runs, and every mailbox and stream: state, lag, counts, last error."""
    config, store = get_config(ctx), get_store(ctx)
    now = utcnow()
    with store.engine.connect() as conn:
        daemon, data = daemon_status(conn, now=now), mailbox_status(conn, now=now, me=config.my_addresses)
        health = analysis_health(conn)
        refused = refused_commands(conn, since=now - COMMANDS_WINDOW)
    if json_out:
        from kith import __version__

        print_json(
            {"kith_version": __version__, "daemon": daemon, "mailboxes": data, "analysis": health, "commands": refused}
        )
        return
    for line in daemon_lines(daemon, now):
        console.print(line)
    if not data:
        console.print("no mailbox has been synced yet; run `kith sync`")
        return
    columns, rows = rows_of(data, daemon_running=bool(daemon["running"]))
    print_table(console, columns, rows)
    for mb in data:
        if mb.get("backfill"):
            console.print(backfill_line(mb["name"], mb["backfill"]))
    for line in health_lines(health, sum(mb["forged_from_me"] for mb in data)):
        console.print(line)
    for line in command_lines(refused):
        console.print(line)


def command_lines(refused: dict[str, Any]) -> list[str]:
    """Reply-to-act commands refused lately (forged, expired, foreign, replayed): each did
    nothing but leave this line (kith.store.commands)."""
    if not refused["total"]:
        return []
    lines = [f"commands  [yellow]{refused['total']} refused[/yellow] in the last {COMMANDS_WINDOW.days} days"]
    for r in refused["latest"][:5]:
        lines.append(
            f"          {r['at'][:16].replace('T', ' ')} {r['outcome']}: {r['action'] or '?'} #{r['flag_id']}"
            f" from {escape(r['sender'] or '?')} ({escape(r['via'])})"
        )
    return lines


def backfill_line(name: str, bf: dict[str, Any]) -> str:
    """``backfill  work: 120000 stored (38%), 850/s, about 6 min left`` (share and ETA when known)."""
    parts = [f"{bf['stored']} stored"]
    if bf["share"] is not None:
        parts[0] += f" ({bf['share']:.0%})"
    if bf["rate_per_s"]:
        parts.append(f"{bf['rate_per_s']:.0f}/s")
    if bf["eta_seconds"] is not None:
        parts.append(f"about {duration(bf['eta_seconds'])} left")
    return f"backfill  {escape(name)}: " + ", ".join(parts)


def health_lines(health: dict[str, Any], forged: int) -> list[str]:
    """What the table does not hold: the analysis backlog, its last error and failed contacts
    (kith.store.health), and the messages from my address no provider says I sent."""
    lines = [f"analysis  {health['queued']} queued; last run {health['last_run'] or 'never'}"]
    if health["last_error"]:
        lines.append(f"          [red]failed[/red] at {health['last_error_at']}: {escape(health['last_error'])}")
    if health["failed_contacts"]:
        named = ", ".join(escape(a) for a in health["failures"])
        lines.append(
            f"          [yellow]{health['failed_contacts']} contact(s) could not be analysed[/yellow]: {named}"
        )
    if forged:
        lines.append(
            f"forgeries [yellow]{forged} message(s) from my address that no provider says I sent[/yellow]"
            " (never counted as my replies)"
        )
    return lines


__all__ = [
    "backfill_line",
    "command_lines",
    "daemon_lines",
    "duration",
    "health_lines",
    "next_run",
    "rows_of",
    "status",
    "when",
]
