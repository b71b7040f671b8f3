"""The Typer application object; command modules attach themselves to it.

Errors are mapped here, in the click group, so that `kith` and tests driving the app through
Typer's ``CliRunner`` behave alike: a ``KithError`` becomes its message, its hint and an exit
code; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from kith.errors import AuthError, ConfigError, KithError

#: sysexits.h: EX_CONFIG for configuration, EX_NOPERM for refused credentials.
EXIT_CODES: dict[type[KithError], int] = {ConfigError: 78, AuthError: 77}


def exit_code(exc: KithError) -> int:
    return next((code for cls, code in EXIT_CODES.items() if isinstance(exc, cls)), 1)


class KithGroup(TyperGroup):
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KithError as exc:
            from rich.markup import escape

            from kith.cli.common import err_console

            err_console.print(f"[red]error:[/red] {escape(str(exc))}")
            if exc.hint:
                err_console.print(f"[dim]hint:[/dim] {escape(exc.hint)}")
            raise typer.Exit(exit_code(exc)) from exc


app = typer.Typer(
    name="kith",
    cls=KithGroup,
    help="Keeps your relationships from silently decaying: mail and calendar headers in, what needs attention out.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

__all__ = ["EXIT_CODES", "KithGroup", "app", "exit_code"]
