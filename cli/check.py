"""`kith check [MAILBOX…] [--json]`: a read-only look at real accounts before the first sync.

A thin wrapper over ``kith.connectors.check.check_mailbox``: each mailbox's mail and calendar
report, printed as a table (or JSON), with every problem's fix under it. Exit status 1 when any
report has an error, so a setup script can stop there.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.text import Text

from kith.cli.app import app
from kith.cli.common import console, get_config, print_json
from kith.cli.tables import Column, print_table
from kith.connectors.base import CheckReport, Level
from kith.connectors.check import check_mailbox

#: Anything a terminal would act on (C0/C1 controls, DEL): folder names come from the server.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_MARK = {
    Level.OK: ("ok", "green"),
    Level.INFO: ("info", "dim"),
    Level.WARN: ("warn", "yellow"),
    Level.ERROR: ("error", "red"),
}

#: The folder table: a folder's name is never cut (it is what a user looks for); the role and the
#: count go first on a narrow terminal, and why kith skips a folder wraps.
FOLDER_COLUMNS = (
    Column("folder"),
    Column("role", drop=2),
    Column("messages", justify="right", drop=1),
    Column("kith", flex=True),
)


def _plain(value: object) -> str:
    return _CONTROL.sub("\N{REPLACEMENT CHARACTER}", str(value))


def report_json(name: str, report: CheckReport) -> dict[str, Any]:
    out = dataclasses.asdict(report)
    out["mailbox"] = name
    out["ok"] = report.ok
    return out


def _print(name: str, report: CheckReport) -> None:
    console.print(Text(f"{_plain(name)} — {_plain(report.kind)} ({_plain(report.account)})", style="bold"))
    for f in report.findings:
        label, style = _MARK[f.level]
        line = Text(f"  {label:5} ", style=style)
        line.append(f"{_plain(f.topic)}: {_plain(f.text)}")
        console.print(line)
        if f.fix:
            console.print(Text(f"        fix: {_plain(f.fix)}", style="cyan"))
    if report.folders:
        rows = [
            [
                escape(_plain(folder.name)),
                escape(str(folder.role or "—")),
                "?" if folder.messages is None else f"{folder.messages:,}",
                "sync" if folder.skipped is None else escape(f"skip: {_plain(folder.skipped)}"),
            ]
            for folder in report.folders
        ]
        print_table(console, FOLDER_COLUMNS, rows)
    if report.first_sync is not None:
        fs = report.first_sync
        console.print(
            Text(
                f"  first sync: {fs.items:,} items, {fs.requests:,} requests, about {fs.minutes:g} min ({_plain(fs.basis)})"
            )
        )
    console.print()


@app.command()
def check(
    ctx: typer.Context,
    mailboxes: Annotated[list[str] | None, typer.Argument(help="Mailbox names (default: every enabled one)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the reports as JSON")] = False,
) -> None:
    """Look at real accounts, read-only: login, TLS, capabilities, folders, first-sync size, each problem's fix."""
    config = get_config(ctx)
    chosen = [config.mailbox(n) for n in mailboxes] if mailboxes else [m for m in config.mailboxes if m.enabled]
    results = [(mb.name, r) for mb in chosen for r in check_mailbox(mb, state_dir=config.state_dir)]
    if as_json:
        print_json([report_json(name, r) for name, r in results])
    else:
        for name, r in results:
            _print(name, r)
    if not all(r.ok for _, r in results):
        raise typer.Exit(1)


__all__ = ["check", "report_json"]
