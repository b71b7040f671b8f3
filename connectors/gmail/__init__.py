"""Gmail API (``kind = "gmail"``) and Google Calendar (``[calendar] kind = "google"``).

Modules: ``auth`` (OAuth installed-app flow, token file, service-account delegation),
``client`` (building the services from the bundled discovery documents, ``map_errors``, retries,
quota budget, batches), ``records`` (API JSON → records), ``history`` (folding history records),
``mail`` (the Gmail source), ``calendar`` (the Google Calendar source), ``send`` (the nightly
report through ``users.messages.send``).
"""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path
from typing import Any

from kith.config.mailboxes import GmailMailbox, MailboxBase
from kith.connectors.base import Connector, Source
from kith.errors import ConfigError


def _gmail(mailbox: MailboxBase) -> GmailMailbox:
    if not isinstance(mailbox, GmailMailbox):
        raise ConfigError(f'{mailbox.name}: a Google calendar needs a mailbox of kind "gmail"')
    return mailbox


def make_source(mailbox: MailboxBase, *, state_dir: Path) -> Source:
    """The Gmail source of a ``kind = "gmail"`` mailbox."""
    from kith.connectors.gmail.mail import GmailSource

    return GmailSource(_gmail(mailbox), state_dir=state_dir)


def make_calendar_source(mailbox: MailboxBase, *, state_dir: Path) -> Source:
    """The Google Calendar source of the mailbox's ``[calendar] kind = "google"``."""
    from kith.connectors.gmail.calendar import GoogleCalendarSource

    return GoogleCalendarSource(_gmail(mailbox), state_dir=state_dir)


def authorize(
    mailbox: MailboxBase, *, state_dir: Path, interactive: bool = True, send: bool = False, **options: Any
) -> str:
    """``kith auth NAME``; ``send=True`` adds gmail.send (when the report goes out through Gmail)."""
    from kith.connectors.gmail.auth import authorize as _authorize

    return _authorize(_gmail(mailbox), state_dir=state_dir, interactive=interactive, send=send, **options)


def send_message(mailbox: MailboxBase, message: EmailMessage, *, state_dir: Path) -> str:
    """``[report] deliver = "gmail"``: send the report through ``users.messages.send`` (needs gmail.send)."""
    from kith.connectors.gmail.send import send_message as _send

    if not isinstance(mailbox, GmailMailbox):
        raise ConfigError(f'{mailbox.name}: sending through Gmail needs a mailbox of kind "gmail"')
    sent = _send(mailbox, message, state_dir)
    return f"sent as {sent}" if sent else "sent"


#: What the Gmail connector can do: mail and Google Calendar sources, OAuth, and sending.
CONNECTOR = Connector(
    make_source=make_source, make_calendar_source=make_calendar_source, authorize=authorize, send=send_message
)

__all__ = ["CONNECTOR", "authorize", "make_calendar_source", "make_source", "send_message"]
