"""Lazy map from ``kind = "..."`` to the module that implements it.

Importing kith must not import msal, googleapiclient or caldav: a provider's library is loaded
only when a mailbox of that kind is configured. Each provider module exposes

- ``make_source(mailbox, *, state_dir) -> Source`` for mail, and/or
- ``make_calendar_source(mailbox, *, state_dir) -> Source`` for its calendar kind,
- optionally ``authorize(mailbox, *, state_dir, interactive) -> str`` for ``kith auth``.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

from kith.connectors.base import Source
from kith.errors import ConfigError

MAIL_KINDS: dict[str, str] = {
    "maildir": "kith.connectors.maildir",
    "mbox": "kith.connectors.mbox",
    "imap": "kith.connectors.imap",
    "gmail": "kith.connectors.gmail",
    "graph": "kith.connectors.graph",
}

CALENDAR_KINDS: dict[str, str] = {
    "ics": "kith.connectors.ics",
    "caldav": "kith.connectors.caldav",
    "google": "kith.connectors.gmail",
    "graph": "kith.connectors.graph",
}


def _module(kinds: dict[str, str], kind: str, what: str) -> ModuleType:
    try:
        target = kinds[kind]
    except KeyError:
        raise ConfigError(f"unknown {what} kind {kind!r}; known: {', '.join(sorted(kinds))}") from None
    try:
        return importlib.import_module(target)
    except ImportError as exc:
        raise ConfigError(f"{what} kind {kind!r} is not available: {exc}") from exc


def make_source(mailbox: Any, *, state_dir: Path) -> Source:
    """The mail source for one configured mailbox."""
    return _module(MAIL_KINDS, mailbox.kind, "mailbox").make_source(mailbox, state_dir=state_dir)  # type: ignore[no-any-return]


def make_calendar_source(mailbox: Any, *, state_dir: Path) -> Source | None:
    """The calendar source of a mailbox, or None when it has no ``[calendar]``."""
    if mailbox.calendar is None:
        return None
    mod = _module(CALENDAR_KINDS, mailbox.calendar.kind, "calendar")
    return mod.make_calendar_source(mailbox, state_dir=state_dir)  # type: ignore[no-any-return]


def authorize(mailbox: Any, *, state_dir: Path, interactive: bool = True, send: bool = False, **options: Any) -> str:
    """Run the provider's interactive authorization; returns a line to show the user.

    ``send`` asks for the permission to send mail too (the report goes out through this mailbox);
    ``options`` go to the provider's own ``authorize`` (Gmail: ``open_browser=False`` for
    ``kith auth --headless``).
    """
    mod = _module(MAIL_KINDS, mailbox.kind, "mailbox")
    fn = getattr(mod, "authorize", None)
    if fn is None:
        return f"mailbox {mailbox.name!r} ({mailbox.kind}) needs no authorization step"
    if send:
        options["send"] = True
    return fn(mailbox, state_dir=state_dir, interactive=interactive, **options)  # type: ignore[no-any-return]


__all__ = ["CALENDAR_KINDS", "MAIL_KINDS", "authorize", "make_calendar_source", "make_source"]
