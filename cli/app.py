"""The Typer application object; command modules attach themselves to it.

Errors are mapped here, in the click group, so that `kith` and tests driving the app through
Typer's ``CliRunner`` behave alike: a ``KithError`` becomes its message, its hint and an exit
code; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from kith.errors import AuthError, ConfigError, KithError, UnusableDatabase

#: sysexits.h: EX_CONFIG for configuration, EX_NOPERM for refused credentials, EX_IOERR for a
#: database that cannot be read (the units do not restart on 78 and 74: a restart cannot help).
EXIT_CODES: dict[type[KithError], int] = {ConfigError: 78, AuthError: 77, UnusableDatabase: 74}


def exit_code(exc: KithError) -> int:
    return next((code for cls, code in EXIT_CODES.items() if isinstance(exc, cls)), 1)


class KithGroup(TyperGroup):
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KithError as exc:
            self._fail(exc)
        except Exception as exc:  # a database error from any command: one line, not a traceback
            mapped = _store_error(ctx, exc)
            if mapped is None:
                raise
            self._fail(mapped, exc)

    @staticmethod
    def _fail(exc: KithError, cause: BaseException | None = None) -> None:
        from rich.markup import escape

        from kith.cli.common import err_console

        err_console.print(f"[red]error:[/red] {escape(str(exc))}")
        if exc.hint:
            err_console.print(f"[dim]hint:[/dim] {escape(exc.hint)}")
        raise typer.Exit(exit_code(exc)) from cause or exc


def _store_error(ctx: Any, exc: Exception) -> KithError | None:
    from kith.store.faults import as_store_error

    store = getattr(getattr(ctx.find_root(), "obj", None), "_store", None)
    return as_store_error(exc, store.where if store is not None else "")


app = typer.Typer(
    name="kith",
    cls=KithGroup,
    help="Keeps your relationships from silently decaying: mail and calendar headers in, what needs attention out.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

__all__ = ["EXIT_CODES", "KithGroup", "app", "exit_code"]
