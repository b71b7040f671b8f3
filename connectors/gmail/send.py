"""The nightly report through the Gmail API (``[report] deliver = "gmail"``, ``mailbox = NAME``).

``users.messages.send`` with the whole RFC 5322 message, base64url-encoded, as ``raw``: Gmail
takes the message as built (Message-ID, Date, Auto-Submitted, the multipart body with its inline
charts), sends it and files a copy under SENT (and INBOX, as the report goes to the owner).

**Scope.** Sending needs ``gmail.send`` (``gmail.compose``, ``gmail.modify`` and full
``mail.google.com`` also allow it). ``kith auth NAME`` asks for it when ``[report] deliver``
names this mailbox; a token file that lists its scopes and lacks every one of these is an
``AuthError`` before anything is sent, and Google's own 403 (``insufficientPermissions``, a
token file without a scope list, a service account whose delegation does not cover the scope)
becomes the same error. The hint is ``kith auth NAME`` either way.

**Errors and retries** are those of the connector's other calls (``client.map_errors``): 429,
5xx and rate-limit 403s are ``TransientError`` with Retry-After, retried here a few times
(``SEND_RETRY``: fewer attempts than a sync call, and a shorter cap on Retry-After, because the
report ledger retries a failed send later with its own backoff and the report worker should not
sit in one call for long). A send Gmail refused for good stays refused (``KithError``).
"""

from __future__ import annotations

import base64
import logging
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from googleapiclient.errors import HttpError

from kith.config.mailboxes import GmailMailbox
from kith.connectors.gmail.auth import (
    COVERED_BY,
    SCOPE_SEND,
    TokenKeeper,
    load_credentials,
    scopes_for,
    service_account_credentials,
)
from kith.connectors.gmail.client import GMAIL_ENDPOINT, GoogleClient, RetryPolicy
from kith.errors import AuthError, ConfigError

log = logging.getLogger(__name__)

#: Scopes that allow ``users.messages.send`` (Gmail API scope table).
SEND_SCOPES = frozenset({SCOPE_SEND}) | COVERED_BY[SCOPE_SEND]
#: Quota units of one ``messages.send`` (Gmail API usage limits).
SEND_UNITS = 100
#: Retries within one delivery attempt; the report ledger's backoff is the second line.
SEND_RETRY = RetryPolicy(attempts=3, max_retry_after=60.0)


def _hint(mailbox: GmailMailbox) -> str:
    return (
        f'run `kith auth {mailbox.name}` (with [report] deliver = "gmail" and mailbox = "{mailbox.name}" '
        "it asks for the gmail.send scope); a service account needs gmail.send in its domain-wide delegation"
    )


def send_credentials(mailbox: GmailMailbox, state_dir: Path) -> tuple[Any, Path | None]:
    """Credentials that may send, and the token file to keep current (None for a service account)."""
    if mailbox.service_account_file is not None:
        return service_account_credentials(mailbox, scopes_for(mailbox, send=True)), None
    credentials, path = load_credentials(mailbox, state_dir)
    granted = set(getattr(credentials, "scopes", None) or ())
    if granted and not granted & SEND_SCOPES:
        raise AuthError(
            f"the Google token for {mailbox.name!r} lacks the gmail.send scope the report delivery needs",
            mailbox=mailbox.name,
            hint=_hint(mailbox),
        )
    return credentials, path


def wire_bytes(message: EmailMessage) -> bytes:
    """The message as it goes on the wire: CRLF line ends, non-ASCII headers RFC 2047-encoded."""
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def send_message(
    mailbox: GmailMailbox,
    message: EmailMessage,
    state_dir: Path,
    *,
    credentials: Any = None,
    retry: RetryPolicy | None = None,
) -> str:
    """Send ``message`` through ``users.messages.send``; returns the id Gmail gave the sent copy."""
    if not isinstance(mailbox, GmailMailbox):
        raise ConfigError(f'{getattr(mailbox, "name", "?")}: sending through Gmail needs a mailbox of kind "gmail"')
    token_file: Path | None = None
    if credentials is None:
        credentials, token_file = send_credentials(mailbox, state_dir)
    tokens = TokenKeeper(credentials, token_file)
    client = GoogleClient(credentials, mailbox=mailbox.name, retry=retry or SEND_RETRY, consented=tokens.consented)
    raw = base64.urlsafe_b64encode(wire_bytes(message)).decode("ascii")
    try:
        api = client.service("gmail", "v1", mailbox.api_endpoint or GMAIL_ENDPOINT).users()
        request = api.messages().send(userId=mailbox.user_id, body={"raw": raw})
        try:
            sent = client.execute(request, units=SEND_UNITS)
        except AuthError as exc:
            cause = exc.__cause__
            if isinstance(cause, HttpError) and int(cause.resp.status) == 403:
                raise AuthError(
                    f"Gmail refused to send the report for {mailbox.name!r} (does the token carry gmail.send?): {exc}",
                    mailbox=mailbox.name,
                    hint=_hint(mailbox),
                ) from cause
            raise
    finally:
        tokens.persist()
        client.close()
    gmail_id = str((sent or {}).get("id") or "")
    log.info("%s: Gmail sent %s as %s", mailbox.name, message["Message-ID"], gmail_id or "?")
    return gmail_id


__all__ = ["SEND_RETRY", "SEND_SCOPES", "SEND_UNITS", "send_credentials", "send_message", "wire_bytes"]
