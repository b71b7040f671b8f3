"""Commands about setup and sync: init, config check, db upgrade, sync, status."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from kith.cli.app import app
from kith.cli.common import console, get_config, get_store, interactive, print_json
from kith.config.starter import masked, write_starter
from kith.daemon.status import mailbox_status
from kith.daemon.sync import MailboxResult, sync_mailboxes

config_app = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Where to write kith.toml and mailboxes.d/")] = Path(
        "~/.config/kith"
    ),
    force: Annotated[bool, typer.Option(help="Overwrite existing files")] = False,
) -> None:
    """Write a commented starter configuration."""
    for path in write_starter(directory.expanduser(), force=force):
        console.print(f"wrote {path}")
    console.print("next: edit the files, then run `kith config check`")


@config_app.command("check")
def config_check(ctx: typer.Context, json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Validate every config file and print the resolved settings (secrets masked)."""
    data = masked(get_config(ctx))
    if json_out:
        print_json(data)
        return
    console.print(f"[green]ok[/green] {data['file']} and {len(data['mailboxes'])} mailbox file(s)")
    console.print_json(data=data)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Bring the database schema up to date (also done automatically on every start)."""
    store = get_store(ctx)
    from kith.store.migrate import current_revision

    console.print(f"database at revision {current_revision(store.engine)} ({store.dialect})")


def _sync_table(results: list[MailboxResult]) -> Table:
    table = Table("mailbox", "status", "new/updated", "deleted", "problems", "error")
    for r in results:
        colour = {"ok": "green", "partial": "yellow"}.get(r.status, "red")
        table.add_row(
            r.name, f"[{colour}]{r.status}[/{colour}]", str(r.upserts), str(r.deletions), str(r.problems), r.error or ""
        )
    return table


@app.command()
def sync(
    ctx: typer.Context,
    mailboxes: Annotated[list[str] | None, typer.Argument(help="Mailbox names (default: all enabled)")] = None,
    full: Annotated[bool, typer.Option("--full", help="Ignore cursors and resync from scratch")] = False,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Sync mailboxes once, then update the analysis of the contacts that changed."""
    config, store = get_config(ctx), get_store(ctx)
    if interactive() and not json_out:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed} items"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            tasks: dict[str, TaskID] = {}

            def progress(mailbox: str, stream: str, n: int) -> None:
                if mailbox not in tasks:
                    tasks[mailbox] = bar.add_task(mailbox, total=None)
                bar.update(tasks[mailbox], advance=n, description=f"{mailbox} {stream}")

            results = sync_mailboxes(config, store, mailboxes or (), full=full, progress=progress)
    else:
        results = sync_mailboxes(config, store, mailboxes or (), full=full)
    _after_sync(ctx)
    if json_out:
        print_json(
            [
                {
                    "mailbox": r.name,
                    "status": r.status,
                    "upserts": r.upserts,
                    "deletions": r.deletions,
                    "problems": r.problems,
                    "error": r.error,
                }
                for r in results
            ]
        )
    else:
        console.print(_sync_table(results))
    if any(r.status in ("error", "auth") for r in results):
        raise typer.Exit(1)


def _after_sync(ctx: typer.Context) -> None:
    """Analyse what the sync queued (the contacts it touched) when the analysis package is present."""
    try:
        from kith.analysis.api import analyze
    except ImportError:
        return
    config, store = get_config(ctx), get_store(ctx)
    from kith.store.models import utcnow

    with store.session() as session:
        analyze(session, config, now=utcnow())


@app.command()
def status(ctx: typer.Context, json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every mailbox and stream: last success, lag, counts, last error."""
    store = get_store(ctx)
    with store.engine.connect() as conn:
        data = mailbox_status(conn)
    if json_out:
        from kith import __version__

        print_json({"kith_version": __version__, "mailboxes": data})
        return
    if not data:
        console.print("no mailbox has been synced yet; run `kith sync`")
        return
    table = Table(
        "mailbox", "stream", "role", "items", "last success", "next run", "failures", "syncing on", "problems", "error"
    )
    for mb in data:
        colour = {"ok": "green", "partial": "yellow", "syncing": "cyan"}.get(mb["state"], "red")
        failures = mb["failures"] or 0
        table.add_row(
            f"[bold]{mb['name']}[/bold] ({mb['kind']})",
            f"[{colour}]{mb['state']}[/{colour}]",
            "",
            str(mb["items"]),
            _when(mb["last_success"]),
            _next_run(mb["next_run_in_seconds"]),
            f"[red]{failures}[/red]" if failures else "0",
            mb["syncing_on"] or "",
            str(mb["problems"]),
            mb["error"] or mb["server_alert"] or "",
        )
        for st in mb["streams"]:
            if st["present"]:
                table.add_row(
                    "",
                    st["name"],
                    st["role"],
                    str(st["items"]),
                    _when(st["last_success"]),
                    "",
                    "",
                    "",
                    str(st["problems"]),
                    st["last_error"] or "",
                )
    console.print(table)


def _when(ts: object) -> str:
    return ts.strftime("%Y-%m-%d %H:%M UTC") if hasattr(ts, "strftime") else "never"


def _duration(seconds: float) -> str:
    """``42s``, ``4m30s``, ``3h05m``, ``2d04h``: short enough for a table cell."""
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def _next_run(seconds: float | None) -> str:
    """When the daemon syncs the mailbox next, from ``next_run_in_seconds`` (negative: overdue)."""
    if seconds is None:
        return "not scheduled"
    if seconds >= 1:
        return f"in {_duration(seconds)}"
    if seconds > -60:
        return "due now"
    return f"[yellow]overdue {_duration(-seconds)}[/yellow]"
