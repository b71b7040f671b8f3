"""Commands about setup and sync: init, config check, db upgrade, sync, status."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from kith.cli.app import app
from kith.cli.common import config_check_command, console, get_config, get_store, interactive, print_json, state
from kith.cli.tables import Column, print_table
from kith.config.load import load_config
from kith.config.starter import masked, write_starter
from kith.daemon.sync import MailboxResult, sync_mailboxes
from kith.text import plural

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
    """Write a commented starter configuration: every key, its default and what it does."""
    written = write_starter(directory.expanduser(), force=force)
    for path in written:
        console.print(f"wrote {path}", soft_wrap=True)
    console.print(
        f"next: edit {written[-1]} (and rename it after the mailbox), then run `{config_check_command(written[0])}`",
        soft_wrap=True,
    )


@config_app.command("check")
def config_check(ctx: typer.Context, json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Validate every config file, the paths and URLs they name, and print the resolved settings
    (secrets masked). Every problem of every file is listed at once."""
    data = masked(load_config(state(ctx).path, thorough=True))
    if json_out:
        print_json(data)
        return
    files = plural(len(data["mailboxes"]), "mailbox file")
    console.print(f"[green]ok[/green] {data['file']} and {files}", soft_wrap=True)
    console.print_json(data=data)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Bring the database schema up to date (also done automatically on every start)."""
    store = get_store(ctx)
    from kith.store.migrate import current_revision

    console.print(f"database at revision {current_revision(store.engine)} ({store.dialect})")


def _sync_rows(results: list[MailboxResult]) -> tuple[list[Column], list[list[str]]]:
    columns = [
        Column("mailbox"),
        Column("status"),
        Column("new/updated", justify="right"),
        Column("deleted", justify="right", drop=2),
        Column("problems", justify="right", drop=1),
        Column("error", flex=True),
    ]
    rows = []
    for r in results:
        colour = {"ok": "green", "partial": "yellow"}.get(r.status, "red")
        rows.append(
            [
                escape(r.name),
                f"[{colour}]{r.status}[/{colour}]",
                str(r.upserts),
                str(r.deletions),
                str(r.problems),
                escape(r.error or ""),
            ]
        )
    return columns, rows


@app.command()
def sync(
    ctx: typer.Context,
    mailboxes: Annotated[list[str] | None, typer.Argument(help="Mailbox names (default: all enabled)")] = None,
    full: Annotated[bool, typer.Option("--full", help="Ignore cursors and resync from scratch")] = False,
    json_out: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Sync mailboxes once, then update the analysis of the contacts that changed."""
    config, store = get_config(ctx), get_store(ctx)
    if interactive() and not json_out and not state(ctx).quiet:
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
        print_table(console, *_sync_rows(results))
    # partial too: a stream that did not sync is mail kith has not seen (a script must know)
    if any(r.status != "ok" for r in results):
        raise typer.Exit(1)


def _after_sync(ctx: typer.Context) -> None:
    """Analyse what the sync queued (the contacts it touched)."""
    from kith.analysis.api import analyze
    from kith.store.models import utcnow

    config, store = get_config(ctx), get_store(ctx)

    with store.session() as session:
        analyze(session, config, now=utcnow())
