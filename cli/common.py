"""What every command shares: the loaded config, the store, output helpers, error mapping.

Commands stay thin: they call package functions and print what comes back. Config and store
are loaded lazily, once per invocation, so `kith --help` needs neither.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import sys
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from kith.config.load import Config, default_config_path, load_config
from kith.daemon.logs import RedactingFormatter, hold_noisy
from kith.store.engine import Store, store_for
from kith.text import terminal_text


class SafeConsole(Console):
    """A Rich console that never lets data drive the terminal.

    Every string Rich renders (``print`` arguments, table cells, progress descriptions) passes
    ``render_str``: control characters are removed there (ESC sequences, OSC 52 clipboard
    writes, a CR that overwrites a line, from a stranger's Subject or display name), and a
    ``[link=...]`` tag in the data is escaped, so no hyperlink escape can be made of one either.
    kith's own styling (``[red]…[/red]``) is markup Rich turns into colours, as before.
    """

    def render_str(self, text: str, **kwargs: Any) -> Any:
        text = terminal_text(text)
        if kwargs.get("markup", self._markup) is not False:
            text = _LINK_TAG.sub(r"\\\1", text)
        return super().render_str(text, **kwargs)


_LINK_TAG = re.compile(r"(\[/?link\b)")

console = SafeConsole(highlight=False)
err_console = SafeConsole(stderr=True, highlight=False, soft_wrap=True)


@dataclass
class CliState:
    config_path: Path | None = None
    quiet: bool = False
    _config: Config | None = field(default=None, repr=False)
    _store: Store | None = field(default=None, repr=False)

    @property
    def path(self) -> Path:
        return self.config_path or default_config_path()

    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.path)
        return self._config

    def store(self) -> Store:
        if self._store is None:
            self._store = store_for(self.config())
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.dispose()
            self._store = None


def config_check_command(config_file: Path) -> str:
    """The exact command that checks ``config_file``: ``--config`` unless it is the default one."""
    if config_file.expanduser().resolve() == default_config_path().expanduser().resolve():
        return "kith config check"
    return f"kith --config {shlex.quote(str(config_file))} config check"


def state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj


def get_config(ctx: typer.Context) -> Config:
    return state(ctx).config()


def get_store(ctx: typer.Context) -> Store:
    return state(ctx).store()


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path | set | frozenset):
        return str(value) if isinstance(value, Path) else sorted(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def print_json(obj: Any) -> None:
    """JSON on stdout, nothing else: other tools parse it. ``json`` escapes C0 controls itself;
    C1 controls and lone surrogates (which it would write raw) are removed from every string."""
    sys.stdout.write(json.dumps(_safe(obj), indent=2, ensure_ascii=False, default=_default) + "\n")
    sys.stdout.flush()


def _safe(obj: Any) -> Any:
    if isinstance(obj, str):
        return terminal_text(obj)
    if isinstance(obj, dict):
        return {_safe(k): _safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_safe(v) for v in obj]
    return obj


def interactive() -> bool:
    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


def setup_logging(verbose: int, quiet: bool) -> None:
    """Levels for journald; timestamps only when not under journald (it adds its own).

    A command prints its own result, so by default only warnings reach stderr: the INFO lines the
    packages log for the daemon's journal would say the same thing twice. ``-v`` shows them,
    ``-vv`` adds debugging, ``--quiet`` leaves errors only.
    """
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO)[verbose] if verbose < 2 else logging.DEBUG
    under_journal = bool(os.environ.get("JOURNAL_STREAM") or os.environ.get("INVOCATION_ID"))
    fmt = "<%(syslog)d>%(name)s: %(message)s" if under_journal else "%(asctime)s %(levelname)s %(name)s: %(message)s"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_SyslogFormatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    hold_noisy(level)


class _SyslogFormatter(RedactingFormatter):
    """Adds %(syslog)d: the syslog priority journald reads from a ``<N>`` prefix."""

    _PRIO = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}

    def format(self, record: logging.LogRecord) -> str:
        record.syslog = self._PRIO.get(record.levelno, 6)
        return super().format(record)


__all__ = [
    "CliState",
    "config_check_command",
    "console",
    "err_console",
    "get_config",
    "get_store",
    "interactive",
    "print_json",
    "setup_logging",
    "state",
]
