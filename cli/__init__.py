"""kith.cli: the `kith` command. Thin commands over package functions; one error handler."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Annotated

import typer

from kith.cli.app import app
from kith.cli.common import setup_logging, state
from kith.config.secrets import PRIVATE_UMASK

#: Command modules; each attaches its commands to ``app`` when imported.
COMMAND_MODULES = (
    "kith.cli.core",
    "kith.cli.demo",
    "kith.cli.analysis",
    "kith.cli.report",
    "kith.cli.daemon",
    "kith.cli.auth",
    "kith.cli.check",
    "kith.cli.web",
)


@app.callback()
def _root(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", envvar="KITH_CONFIG", help="kith.toml to use")
    ] = None,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True)] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    setup_logging(verbose, quiet)
    state(ctx).config_path = config
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
