"""The Typer application object; command modules attach themselves to it."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="kith",
    help="Keeps your relationships from silently decaying: mail and calendar headers in, what needs attention out.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

__all__ = ["app"]
