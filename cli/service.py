"""`kith service install|uninstall`: run kith under systemd (see kith.daemon.service)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from kith.cli.app import app
from kith.cli.common import console, err_console
from kith.daemon.service import Outcome, Scope, install, uninstall

service_app = typer.Typer(help="Run kith as a systemd service.", no_args_is_help=True)
app.add_typer(service_app, name="service")

ScopeOption = Annotated[
    bool | None,
    typer.Option(
        "--user/--system",
        help="A unit for your own user manager, or the system-wide one (default: --system as root, else --user)",
        show_default=False,
    ),
]
RootOption = Annotated[
    Path,
    typer.Option(
        "--root",
        metavar="DIR",
        help="Write the files under DIR (an image being prepared); the unit names paths as seen from inside it",
    ),
]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Show what would be written; change nothing")]


def _scope(user: bool | None) -> Scope:
    if user is None:
        return "system" if os.geteuid() == 0 else "user"
    return "user" if user else "system"


def _show(out: Outcome, *, dry_run: bool) -> None:
    for line in out.done:
        console.print(escape(line), soft_wrap=True)
    if dry_run and out.unit_text:
        console.print(f"--- {escape(str(out.layout.disk(out.layout.unit)))}", soft_wrap=True)
        console.print(escape(out.unit_text), end="", soft_wrap=True, highlight=False)
        console.print("---")
    for warning in out.warnings:
        err_console.print(f"[yellow]warning:[/yellow] {escape(warning)}")
    if out.next_steps:
        where = "" if out.layout.root == Path("/") else " (on the system the root is for)"
        console.print(f"{'then' if not dry_run else 'after that'}{where}:")
        for step in out.next_steps:
            console.print(f"  {escape(step)}", soft_wrap=True)


@service_app.command("install")
def install_command(user: ScopeOption = None, root: RootOption = Path("/"), dry_run: DryRunOption = False) -> None:
    """Write the systemd unit for this kith (and a starter config when there is none)."""
    _show(install(_scope(user), root.absolute(), dry_run=dry_run), dry_run=dry_run)


@service_app.command("uninstall")
def uninstall_command(user: ScopeOption = None, root: RootOption = Path("/"), dry_run: DryRunOption = False) -> None:
    """Remove the unit and the starter config nobody edited; the database stays."""
    _show(uninstall(_scope(user), root.absolute(), dry_run=dry_run), dry_run=dry_run)
