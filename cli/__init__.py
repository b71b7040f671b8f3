"""kith.cli: the `kith` command. Thin commands over package functions; one error handler."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Annotated

import typer

from kith.cli.app import app
from kith.cli.common import console, setup_logging, state
from kith.config.secrets import PRIVATE_UMASK

#: Command modules; each attaches its commands to ``app`` when imported.
COMMAND_MODULES = (
    "kith.cli.core",
    "kith.cli.status",
    "kith.cli.demo",
    "kith.cli.analysis",
    "kith.cli.people",
    "kith.cli.report",
    "kith.cli.daemon",
    "kith.cli.auth",
    "kith.cli.check",
    "kith.cli.web",
    "kith.cli.service",
)


def _print_version(value: bool) -> None:
    """``kith --version``: the package's one version string (also in the report footer and ``status --json``)."""
    if value:
        from kith import __version__

        typer.echo(f"kith {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", envvar="KITH_CONFIG", help="kith.toml to use (before or after the command)"),
    ] = None,
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose",
            "-v",
            count=True,
            metavar="",
            show_default=False,
            help="More log detail: -v says what kith does, -vv adds debugging (a flag; repeat it)",
        ),
    ] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors on stderr; no progress bars")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print kith's version and exit")
    ] = False,
) -> None:
    setup_logging(verbose, quiet)
    # a terminal wraps sentences between words at its width; a pipe (`kith report | less`) gets
    # them whole, never hard-wrapped mid-sentence at a guessed 80 columns
    console.soft_wrap = not console.is_terminal
    state(ctx).config_path = config
    state(ctx).quiet = quiet
    ctx.call_on_close(state(ctx).close)


def _load_commands() -> None:
    for name in COMMAND_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a real missing dependency, not an absent command module
                raise


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `kith` command."""
    os.umask(PRIVATE_UMASK)  # new files 0600, directories 0700: the database says who writes to whom
    _load_commands()
    app(args=argv, prog_name="kith")


_load_commands()

__all__ = ["app", "main"]
