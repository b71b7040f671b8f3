"""kith.cli: the `kith` command. Thin commands over package functions; one error handler."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from kith.cli.app import app
from kith.cli.common import console, setup_logging, state
from kith.config.secrets import PRIVATE_UMASK


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


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `kith` command."""
    os.umask(PRIVATE_UMASK)  # new files 0600, directories 0700: the database says who writes to whom
    app(args=argv, prog_name="kith")


# The command modules, in the order `kith --help` lists them: each attaches its commands to
# ``app`` when imported, so they come after the callback above. Every one exists; a missing
# dependency fails here, loudly.
# isort: off
from kith.cli import core  # noqa: E402, F401
from kith.cli import status  # noqa: E402, F401
from kith.cli import demo  # noqa: E402, F401
from kith.cli import analysis  # noqa: E402, F401
from kith.cli import people  # noqa: E402, F401
from kith.cli import report  # noqa: E402, F401
from kith.cli import daemon  # noqa: E402, F401
from kith.cli import auth  # noqa: E402, F401
from kith.cli import check  # noqa: E402, F401
from kith.cli import web  # noqa: E402, F401
from kith.cli import service  # noqa: E402, F401
# isort: on

__all__ = ["app", "main"]
