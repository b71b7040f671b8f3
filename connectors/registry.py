"""Lazy map from ``kind = "..."`` to the connector that implements it.

Importing kith must not import msal, googleapiclient or caldav: a provider's library is loaded
only when a mailbox of that kind is configured. So each kind maps to a small function that
imports its package and returns the package's ``CONNECTOR`` (a ``base.Connector``: the sources it
builds, and whether it can authorize and send). The imports are plain ``from … import`` lines,
so mypy checks every connector against the contract and nothing is imported by string.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from kith.config.mailboxes import MailboxBase
from kith.connectors.base import Connector, Sender, Source
from kith.errors import ConfigError


def _maildir() -> Connector:
    from kith.connectors.maildir import CONNECTOR

    return CONNECTOR


def _mbox() -> Connector:
    from kith.connectors.mbox import CONNECTOR

    return CONNECTOR


def _imap() -> Connector:
    from kith.connectors.imap import CONNECTOR

    return CONNECTOR


def _gmail() -> Connector:
    from kith.connectors.gmail import CONNECTOR

    return CONNECTOR


def _graph() -> Connector:
    from kith.connectors.graph import CONNECTOR

    return CONNECTOR


def _ics() -> Connector:
    from kith.connectors.ics import CONNECTOR

    return CONNECTOR


def _caldav() -> Connector:
    from kith.connectors.caldav import CONNECTOR

    return CONNECTOR


MAIL_KINDS: dict[str, Callable[[], Connector]] = {
    "maildir": _maildir,
    "mbox": _mbox,
    "imap": _imap,
    "gmail": _gmail,
    "graph": _graph,
}

CALENDAR_KINDS: dict[str, Callable[[], Connector]] = {
    "ics": _ics,
    "caldav": _caldav,
    "google": _gmail,
    "graph": _graph,
}


def _connector(kinds: dict[str, Callable[[], Connector]], kind: str, what: str) -> Connector:
    try:
        load = kinds[kind]
    except KeyError:
        raise ConfigError(f"unknown {what} kind {kind!r}; known: {', '.join(sorted(kinds))}") from None
    try:
        return load()
    except ImportError as exc:  # the provider's library (msal, caldav…) is not installed
        raise ConfigError(f"{what} kind {kind!r} is not available: {exc}") from exc


def connector(mailbox: MailboxBase) -> Connector:
    """The connector of a configured mailbox's ``kind``."""
    return _connector(MAIL_KINDS, _kind(mailbox), "mailbox")


def _kind(mailbox: MailboxBase) -> str:
    """Every concrete mailbox model has a ``kind`` literal (the discriminator); the base has none."""
    return str(mailbox.kind)


def make_source(mailbox: MailboxBase, *, state_dir: Path) -> Source:
    """The mail source for one configured mailbox."""
    make = connector(mailbox).make_source
    if make is None:
        raise ConfigError(f"mailbox kind {_kind(mailbox)!r} has no mail source")
    return make(mailbox, state_dir=state_dir)


def make_calendar_source(mailbox: MailboxBase, *, state_dir: Path) -> Source | None:
    """The calendar source of a mailbox, or None when it has no ``[calendar]``."""
    if mailbox.calendar is None:
        return None
    make = _connector(CALENDAR_KINDS, mailbox.calendar.kind, "calendar").make_calendar_source
    if make is None:
        raise ConfigError(f"calendar kind {mailbox.calendar.kind!r} has no calendar source")
    return make(mailbox, state_dir=state_dir)


def authorize(
    mailbox: MailboxBase, *, state_dir: Path, interactive: bool = True, send: bool = False, **options: Any
) -> str:
    """Run the provider's interactive authorization; returns a line to show the user.

    ``send`` asks for the permission to send mail too (the report goes out through this mailbox);
    ``options`` go to the provider's own ``authorize`` (Gmail: ``open_browser=False`` for
    ``kith auth --headless``).
    """
    run = connector(mailbox).authorize
    if run is None:
        return f"mailbox {mailbox.name!r} ({_kind(mailbox)}) needs no authorization step"
    return run(mailbox, state_dir=state_dir, interactive=interactive, send=send, **options)


def sender(mailbox: MailboxBase) -> Sender | None:
    """The mailbox's connector's way to send a message, or None when that kind cannot send."""
    return connector(mailbox).send


__all__ = ["CALENDAR_KINDS", "MAIL_KINDS", "authorize", "connector", "make_calendar_source", "make_source", "sender"]
