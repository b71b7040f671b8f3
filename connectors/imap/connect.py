"""Opening an authenticated IMAP connection, and turning imapclient's errors into kith's.

Why a module of its own: every way a connection can fail (DNS, refused, TLS, a certificate the
user's ``ca_file`` does not vouch for, a refused login, ``BYE``, a timeout) must end up as exactly
one kith error with a message that names the cause, because the engine decides from the error
type alone whether to retry (``TransientError``), stop the mailbox (``AuthError``) or tell the
user to fix the config (``ConfigError``). Server response codes that a person should see
(``[ALERT]``, ``[THROTTLED]``, ``[OVERQUOTA]``; RFC 3501 §7.1, RFC 5530) are collected into an
``alerts`` list that the engine shows in ``kith status``.
"""

from __future__ import annotations

import imaplib
import re
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError

from kith.config.mailboxes import ImapMailbox
from kith.connectors.imap.wire import pop_untagged, quiet_trace
from kith.errors import AuthError, ConfigError, TransientError

#: Returns a fresh OAuth2 access token for SASL XOAUTH2 (Gmail, Microsoft 365).
TokenProvider = Callable[[], str]

#: Response codes a person should hear about (RFC 3501 ALERT, RFC 5530 OVERQUOTA, THROTTLED).
ALERT_CODES = ("ALERT", "THROTTLED", "OVERQUOTA")
#: Response codes that say "try again later" (RFC 5530).
TRANSIENT_CODES = ("UNAVAILABLE", "THROTTLED", "INUSE", "SERVERBUG", "LIMIT")
_CODE_RE = re.compile(rb"\[(ALERT|THROTTLED|OVERQUOTA)\]\s*(.*)", re.I)


def tls_context(mailbox: ImapMailbox) -> ssl.SSLContext:
    """Certificate and host name checks on unless the user turned them off for this mailbox."""
    ctx = ssl.create_default_context(cafile=str(mailbox.ca_file) if mailbox.ca_file else None)
    if not mailbox.verify_tls:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Alerts:
    """Collects the human-readable response codes a server sends, without duplicates."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, text: str) -> None:
        text = text.strip()
        if text and text not in self.items:
            self.items.append(text[:500])

    def scan_text(self, text: str | bytes) -> None:
        raw = text.encode("utf-8", "replace") if isinstance(text, str) else text
        m = _CODE_RE.search(raw)
        if m:
            self.add(f"[{m.group(1).decode().upper()}] {m.group(2).decode('utf-8', 'replace')}")

    def collect(self, client: IMAPClient | None) -> None:
        """Pop the codes imaplib filed under ``untagged_responses`` (it files ``* OK [ALERT] x`` as ALERT)."""
        if client is None:
            return
        for code in ALERT_CODES:
            for value in pop_untagged(client, code):
                text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
                self.add(f"[{code}] {text}")


def describe(mailbox: ImapMailbox) -> str:
    return f"{mailbox.name or mailbox.username}: {mailbox.host}:{mailbox.effective_port}"


@contextmanager
def map_errors(mailbox: ImapMailbox, alerts: Alerts, doing: str) -> Iterator[None]:
    """Translate everything imapclient, imaplib, ssl and socket raise into a kith error."""
    where = describe(mailbox)
    try:
        yield
    except (AuthError, ConfigError, TransientError):
        raise
    except ssl.SSLCertVerificationError as exc:
        raise ConfigError(
            f"{where}: TLS certificate check failed while {doing}: {exc.verify_message or exc.reason}",
            hint="set ca_file to the CA that signed the server's certificate (or fix the host name)",
        ) from exc
    except LoginError as exc:
        alerts.scan_text(str(exc))
        if any(code in str(exc).upper() for code in TRANSIENT_CODES):
            raise TransientError(f"{where}: server cannot log us in right now: {exc}") from exc
        raise AuthError(
            f"{where}: the server refused the login for user {mailbox.username!r}: {exc}",
            mailbox=mailbox.name or None,
            hint=f"check the user name and the password source ({mailbox.password.describe()})"
            + (" or the OAuth token (run `kith auth " + mailbox.name + "`)" if mailbox.auth == "xoauth2" else ""),
        ) from exc
    except (IMAPClientAbortError, imaplib.IMAP4.abort) as exc:
        alerts.scan_text(str(exc))
        raise TransientError(f"{where}: connection lost while {doing}: {exc}") from exc
    except TimeoutError as exc:
        raise TransientError(f"{where}: timed out while {doing}") from exc
    except ssl.SSLError as exc:
        raise TransientError(f"{where}: TLS error while {doing}: {exc}") from exc
    except OSError as exc:
        raise TransientError(f"{where}: network error while {doing}: {exc.strerror or exc}") from exc
    except (IMAPClientError, imaplib.IMAP4.error) as exc:
        alerts.scan_text(str(exc))
        raise TransientError(f"{where}: server error while {doing}: {exc}") from exc


def connect(mailbox: ImapMailbox, alerts: Alerts, token_provider: TokenProvider | None = None) -> IMAPClient:
    """A logged-in client; the caller owns it (``logout`` when done)."""
    timeout = mailbox.timeout.total_seconds()
    port = mailbox.effective_port
    client: IMAPClient | None = None
    with map_errors(mailbox, alerts, "connecting"):
        if mailbox.tls == "implicit":
            client = IMAPClient(mailbox.host, port=port, ssl=True, ssl_context=tls_context(mailbox), timeout=timeout)
        else:
            client = IMAPClient(mailbox.host, port=port, ssl=False, timeout=timeout)
            if mailbox.tls == "starttls":
                if not client.has_capability("STARTTLS"):
                    client.shutdown()
                    raise ConfigError(
                        f"{describe(mailbox)}: the server does not offer STARTTLS",
                        hint='use tls = "implicit" with port 993, or ask the provider to enable STARTTLS',
                    )
                client.starttls(tls_context(mailbox))
        client.normalise_times = False  # aware INTERNALDATE values, converted to UTC by the records
        quiet_trace(client)  # kith logs its own steps; a trace of AUTHENTICATE would carry the token
    try:
        with map_errors(mailbox, alerts, "logging in"):
            _login(client, mailbox, token_provider)
            alerts.collect(client)
    except BaseException:
        _shutdown(client)
        raise
    return client


def _login(client: IMAPClient, mailbox: ImapMailbox, token_provider: TokenProvider | None) -> None:
    if mailbox.auth == "xoauth2":
        # A provider from the Gmail/Microsoft auth when there is one; else the password source
        # yields the access token itself (e.g. password_command = "oauth2-helper --token").
        token = token_provider() if token_provider is not None else mailbox.password.resolve()
        client.oauth2_login(mailbox.username, token)
        return
    client.login(mailbox.username, mailbox.password.resolve())


def _shutdown(client: Any) -> None:
    try:
        client.shutdown()
    except Exception:  # pragma: no cover - already broken
        pass


def logout(client: IMAPClient | None) -> None:
    """Say goodbye politely when the connection is still good; never raise."""
    if client is None:
        return
    try:
        client.logout()
    except Exception:
        _shutdown(client)


__all__ = ["ALERT_CODES", "Alerts", "TokenProvider", "connect", "describe", "logout", "map_errors", "tls_context"]
