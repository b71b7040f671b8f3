"""IMAP mail (``kind = "imap"``), headers only, with imapclient.

Modules, one job each:

- ``connect``: TLS (implicit or STARTTLS, certificates checked against ``ca_file`` or the system
  store), login with a password or SASL XOAUTH2, and the mapping of every failure to a kith
  error; server ``[ALERT]``/``[THROTTLED]``/``[OVERQUOTA]`` texts are kept in ``source.alerts``.
- ``folders``: which folders become streams and with which role (SPECIAL-USE, then names);
  Gmail (X-GM-EXT-1) syncs ``[Gmail]/All Mail`` only.
- ``fetch``: ``UID FETCH`` of exactly the header fields the records need (a compact UID set and
  a fast parser for the answer; imapclient 4.1's ``fetch`` chokes on ranges), records from it.
- ``pipeline``: batches of a large sync fetched ahead in a thread while the store writes.
- ``cursor``: the per-folder position (UIDVALIDITY, last UID, UIDNEXT, count, HIGHESTMODSEQ).
- ``sync``: initial sync in resumable batches; incremental with CONDSTORE/QRESYNC or without.
- ``source``: ``ImapSource``, the ``Source`` the engine drives, over one reused connection.
- ``idle``: push.
- ``append``: the nightly report stored in the INBOX by APPEND (the connector's ``Sender``).

**Push, for the daemon:** ``ImapSource.wait_for_changes(timeout, stop=None) -> bool`` IDLEs on
INBOX on a second connection (re-issued every 25 minutes, before the servers' 29-minute cut)
and returns True as soon as the server reports a new, changed or expunged message, False when
``timeout`` seconds pass or ``stop`` is set. The daemon then syncs the mailbox; other folders are
polled at ``poll_interval``. It raises ``TransientError`` after a disconnect (back off, call
again) and ``AuthError`` if the login is refused.

**Keys:** a message location is ``UIDVALIDITY:UID`` (on Gmail the X-GM-MSGID, with the UID
location as its version); the store keys messages by Message-ID, so a resync after a UIDVALIDITY
change replaces locations and never duplicates messages.

**XOAUTH2:** pass ``token_provider`` (a callable returning an access token) to ``make_source``
or ``ImapSource``; without one, the mailbox's password source is read as the token.
"""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

from kith.config.mailboxes import ImapMailbox, MailboxBase
from kith.connectors.base import Connector
from kith.errors import ConfigError

if TYPE_CHECKING:
    from kith.connectors.imap.connect import TokenProvider
    from kith.connectors.imap.source import ImapSource


def make_source(mailbox: MailboxBase, *, state_dir: Path, token_provider: TokenProvider | None = None) -> ImapSource:
    """The source of a ``kind = "imap"`` mailbox."""
    if not isinstance(mailbox, ImapMailbox):
        raise ConfigError(f'{mailbox.name}: not a mailbox of kind "imap"')
    from kith.connectors.imap.source import ImapSource

    return ImapSource(mailbox, state_dir=state_dir, token_provider=token_provider)


def send_message(mailbox: MailboxBase, message: EmailMessage, *, state_dir: Path) -> str:
    """``[report] deliver = "imap"``: APPEND the report to the mailbox's INBOX (see ``append``)."""
    from kith.connectors.imap.append import send_message as _send

    return _send(mailbox, message, state_dir=state_dir)


#: What the IMAP connector can do: a mail source (with push and alerts) and APPEND for the report.
CONNECTOR = Connector(make_source=make_source, send=send_message)

__all__ = ["CONNECTOR", "make_source", "send_message"]
