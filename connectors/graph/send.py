"""The nightly report through Microsoft Graph (``[report] deliver = "graph"``, ``mailbox = NAME``).

Graph's MIME send: ``POST /me/sendMail`` (``/users/{user}/sendMail`` for app-only access, which
has no "me"; ``mail.mail_base`` picks the path) with the whole RFC 5322 message base64-encoded
as the body and ``Content-Type: text/plain``. Graph sends the message as built (Message-ID,
Auto-Submitted, the multipart body with its inline charts), keeps a copy in Sent Items and
answers ``202 Accepted`` with no body. The request must stay under 4 MB.

**Permission.** ``Mail.Send``: delegated, ``kith auth NAME`` asks for it when ``[report] deliver``
names this mailbox (the token provider here asks msal for it too, so a sign-in without that
consent fails before anything is sent); app-only, an admin grants the application permission.
A 403 is an ``AuthError`` naming ``Mail.Send`` (its message carries Graph's code, e.g.
``ErrorSendAsDenied`` when ``[report] from`` is an address this mailbox may not send as).

**Errors and retries** are the client's (``client.classify``): 429/5xx are ``TransientError``
with Retry-After, retried here a few times (``SEND_RETRY``: fewer attempts and a shorter cap on
Retry-After than a sync call, because the report ledger retries a failed send later with its own
backoff).
"""

from __future__ import annotations

import base64
import logging
from email.message import EmailMessage
from pathlib import Path

import httpx

from kith.config.mailboxes import GraphMailbox
from kith.connectors.graph.auth import SEND_SCOPE
from kith.connectors.graph.client import GraphClient, RetryPolicy, TokenProvider
from kith.connectors.graph.mail import mail_base
from kith.errors import AuthError, ConfigError, KithError

log = logging.getLogger(__name__)

#: Graph refuses a sendMail request of 4 MB or more.
MAX_REQUEST = 4 * 1024 * 1024
#: Retries within one delivery attempt; the report ledger's backoff is the second line.
SEND_RETRY = RetryPolicy(attempts=3, max_retry_after=60.0)


def wire_bytes(message: EmailMessage) -> bytes:
    """The message as it goes on the wire: CRLF line ends, non-ASCII headers RFC 2047-encoded."""
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def send_message(
    mailbox: GraphMailbox,
    message: EmailMessage,
    state_dir: Path,
    *,
    token: TokenProvider | None = None,
    retry: RetryPolicy | None = None,
    transport: httpx.BaseTransport | None = None,
) -> None:
    """Send ``message`` through ``sendMail`` as MIME; returns when Graph accepted it (202)."""
    if not isinstance(mailbox, GraphMailbox):
        raise ConfigError(f'{getattr(mailbox, "name", "?")}: sending through Graph needs a mailbox of kind "graph"')
    path = mail_base(mailbox) + "/sendMail"
    body = base64.b64encode(wire_bytes(message))
    if len(body) >= MAX_REQUEST:
        raise KithError(
            f"the report is {len(body) // 1024} KB encoded; Graph's sendMail takes less than {MAX_REQUEST // 1024} KB",
            hint='lower [report] max_items, or deliver = "smtp"',
        )
    if token is None:
        from kith.connectors.graph.auth import MsalTokens

        token = MsalTokens(mailbox, state_dir, send=True)
    if mailbox.auth != "client_credentials":
        try:  # sign-in problems name the permission before anything is sent
            token()
        except AuthError as exc:
            raise AuthError(
                f"no Microsoft token with {SEND_SCOPE} for {mailbox.name!r}: {exc}", mailbox=mailbox.name
            ) from exc
    client = GraphClient(
        token, mailbox=mailbox.name, endpoint=mailbox.api_endpoint, retry=retry or SEND_RETRY, transport=transport
    )
    try:
        client.call("POST", path, content=body, headers={"Content-Type": "text/plain"}, permission=SEND_SCOPE)
    finally:
        client.close()
        persist = getattr(token, "persist", None)
        if persist is not None:
            persist()
    log.info("%s: Graph accepted %s for sending", mailbox.name, message["Message-ID"])


__all__ = ["MAX_REQUEST", "SEND_RETRY", "send_message", "wire_bytes"]
