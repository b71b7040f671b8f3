"""The nightly report into the owner's mailbox by ``APPEND`` (``[report] deliver = "imap"``).

No SMTP server needed: the message is stored in the INBOX of a configured IMAP mailbox, over a
connection opened exactly as the sync opens it (``connect``: TLS, certificates, password or SASL
XOAUTH2, every failure a kith error). Idempotent by Message-ID: a retry after a crash between
the APPEND and the ledger's commit finds the first copy and appends nothing.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from pathlib import Path

from kith.config.mailboxes import ImapMailbox, MailboxBase
from kith.connectors.imap.connect import Alerts, TokenProvider, connect, logout, map_errors
from kith.errors import ConfigError

log = logging.getLogger(__name__)


def append_message(
    mailbox: ImapMailbox, message: EmailMessage, *, folder: str = "INBOX", token_provider: TokenProvider | None = None
) -> bool:
    """APPEND ``message`` to ``folder`` unless a message with its Message-ID is there; True if appended.

    It arrives unread (no flags), like mail. ``token_provider`` as for the source (XOAUTH2);
    without one the password source yields the token.
    """
    message_id = str(message["Message-ID"])
    alerts = Alerts()
    client = connect(mailbox, alerts, token_provider)
    try:
        with map_errors(mailbox, alerts, f"appending the report to {folder}"):
            client.select_folder(folder)
            if client.search(["HEADER", "Message-ID", message_id]):
                log.info("report %s already in %s/%s; not appending again", message_id, mailbox.name, folder)
                return False
            client.append(folder, bytes(message), flags=(), msg_time=None)
    finally:
        logout(client)
    for alert in alerts.items:
        log.warning("%s: the server says: %s", mailbox.name, alert)
    log.info("report %s appended to %s/%s", message_id, mailbox.name, folder)
    return True


def send_message(mailbox: MailboxBase, message: EmailMessage, *, state_dir: Path) -> str:
    """The IMAP connector's ``Sender``: APPEND to the INBOX; says whether it was there already."""
    if not isinstance(mailbox, ImapMailbox):
        raise ConfigError(f'{mailbox.name}: delivering by IMAP APPEND needs a mailbox of kind "imap"')
    return "INBOX" if append_message(mailbox, message) else "INBOX (already there)"


__all__ = ["append_message", "send_message"]
