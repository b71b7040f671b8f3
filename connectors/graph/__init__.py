"""Microsoft 365 / Outlook over Microsoft Graph (``kind = "graph"``, ``[calendar] kind = "graph"``).

Modules: ``auth`` (msal device code and client credentials, the 0600 token cache, the token
provider), ``client`` (httpx, error mapping, retries, ``$batch``), ``delta`` (delta paging into
batches), ``records`` (Graph JSON → records), ``mail`` (one stream per mail folder),
``calendar`` (``calendarView/delta``), ``send`` (the nightly report through ``sendMail``). msal
and httpx are imported only when a Graph mailbox is configured (the registry imports this
package lazily, and this file imports nothing heavy).
"""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path
from typing import Any

from kith.config.mailboxes import GraphMailbox, MailboxBase
from kith.connectors.base import Connector, Source
from kith.errors import ConfigError


def _graph(mailbox: MailboxBase) -> GraphMailbox:
    if not isinstance(mailbox, GraphMailbox):
        raise ConfigError(f'{mailbox.name}: an Outlook calendar needs a mailbox of kind "graph"')
    return mailbox


def make_source(mailbox: MailboxBase, *, state_dir: Path) -> Source:
    """The mail source of a ``kind = "graph"`` mailbox."""
    from kith.connectors.graph.mail import GraphMailSource

    graph = _graph(mailbox)
    return GraphMailSource(graph, state_dir=state_dir, fetch_headers=graph.fetch_headers)


def make_calendar_source(mailbox: MailboxBase, *, state_dir: Path) -> Source:
    """The Outlook calendar source of the mailbox's ``[calendar] kind = "graph"``."""
    from kith.connectors.graph.calendar import GraphCalendarSource

    return GraphCalendarSource(_graph(mailbox), state_dir=state_dir)


def authorize(
    mailbox: MailboxBase, *, state_dir: Path, interactive: bool = True, send: bool = False, **options: Any
) -> str:
    """``kith auth NAME``: device-code sign-in (prints the code and URL) or an app-only check."""
    from kith.connectors.graph.auth import authorize as _authorize

    return _authorize(_graph(mailbox), state_dir=state_dir, interactive=interactive, send=send, **options)


def send_message(mailbox: MailboxBase, message: EmailMessage, *, state_dir: Path) -> str:
    """``[report] deliver = "graph"``: send the report as MIME through ``sendMail`` (needs Mail.Send)."""
    from kith.connectors.graph.send import send_message as _send

    if not isinstance(mailbox, GraphMailbox):
        raise ConfigError(f'{mailbox.name}: sending through Graph needs a mailbox of kind "graph"')
    _send(mailbox, message, state_dir)
    return "sent"


#: What the Graph connector can do: mail and Outlook calendar sources, sign-in, and sending.
CONNECTOR = Connector(
    make_source=make_source, make_calendar_source=make_calendar_source, authorize=authorize, send=send_message
)

__all__ = ["CONNECTOR", "authorize", "make_calendar_source", "make_source", "send_message"]
