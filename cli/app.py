"""The Typer application object; command modules attach themselves to it.

Errors are mapped here, in the click group, so that `kith` and tests driving the app through
Typer's ``CliRunner`` behave alike: a ``KithError`` becomes its message, its hint and an exit
code; anything else is a bug and keeps its traceback.

The global options (``--config``, ``-v``, ``--quiet``) belong to the group, but people type them
where they think of them: ``kith status --config x.toml`` as often as ``kith --config x.toml
status``. The group moves them to the front before click parses, so both work for every command,
present and future, without each command repeating them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

from kith.errors import AuthError, ConfigError, KithError, UnusableDatabase, UsageError

#: sysexits.h: EX_USAGE for a command line that asks for what cannot be, EX_CONFIG for
#: configuration, EX_NOPERM for refused credentials, EX_IOERR for a database that cannot be read
#: (the units do not restart on 78 and 74: a restart cannot help). (A value click itself
#: rejects exits 2.)
EXIT_CODES: dict[type[KithError], int] = {UsageError: 64, ConfigError: 78, AuthError: 77, UnusableDatabase: 74}

#: The group's options that may stand anywhere on the line: flags, and those taking a value.
GLOBAL_FLAGS = frozenset({"--verbose", "--quiet", "-q"})
GLOBAL_WITH_VALUE = frozenset({"--config", "-c"})


def hoist_global_options(args: Sequence[str]) -> list[str]:
    """``args`` with the global options (and their values) moved in front of the subcommand.

    Only exact spellings move (``-v``, ``-vv``, ``--config X``, ``--config=X``); everything after
    ``--`` stays where it is, so a positional argument can still be ``-v`` if someone needs it.
    """
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        if arg in GLOBAL_WITH_VALUE and i + 1 < len(args):
            front += [arg, args[i + 1]]
            i += 2
            continue
        if arg in GLOBAL_FLAGS or arg.startswith("--config=") or (len(arg) > 1 and arg.strip("v") == "-"):
            front.append(arg)
        else:
            rest.append(arg)
        i += 1
    return front + rest


def exit_code(exc: KithError) -> int:
    return next((code for cls, code in EXIT_CODES.items() if isinstance(exc, cls)), 1)


class KithGroup(TyperGroup):
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, hoist_global_options(args))

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except KithError as exc:
            self._fail(ctx, exc)
        except Exception as exc:  # a database error from any command: one line, not a traceback
            mapped = _store_error(ctx, exc)
            if mapped is None:
                raise
            self._fail(ctx, mapped, exc)

    @staticmethod
    def _fail(ctx: Any, exc: KithError, cause: BaseException | None = None) -> None:
        from rich.markup import escape

        from kith.cli.common import err_console

        err_console.print(f"[red]error:[/red] {escape(str(exc))}")
        hint = exc.hint
        if isinstance(exc, ConfigError) and hint == ConfigError.hint:
            from kith.cli.common import config_check_command, state

            hint = f"fix the file and key named above, then run `{config_check_command(state(ctx).path)}`"
        if hint:
            err_console.print(f"[dim]hint:[/dim] {escape(hint)}")
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
    add_completion=True,
)

__all__ = ["EXIT_CODES", "KithGroup", "app", "exit_code", "hoist_global_options"]
