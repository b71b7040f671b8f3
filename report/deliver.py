"""Hand the finished message to a mail system: SMTP, IMAP APPEND, or a provider's send endpoint.

Errors leave as kith errors (``map_errors``): refused credentials are an ``AuthError`` (retrying
will not help; the fix is the password source or ``kith auth``), network trouble and 4xx replies
are ``TransientError`` (the caller retries with backoff), and settings that cannot work are a
``ConfigError`` naming the key.
"""

from __future__ import annotations

import imaplib
import importlib
import logging
import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from imapclient.exceptions import LoginError

from kith.config.load import Config
from kith.config.mailboxes import is_loopback
from kith.config.models import SmtpConfig
from kith.errors import AuthError, ConfigError, KithError, TransientError

log = logging.getLogger(__name__)


@contextmanager
def map_errors(what: str, *, mailbox: str | None = None) -> Iterator[None]:
    """smtplib / imaplib / socket / ssl errors → kith errors, ``from`` the original."""
    try:
        yield
    except KithError:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise AuthError(
            f"{what}: the server refused the login ({exc.smtp_code})",
            hint="check [report.smtp] username and the password source",
        ) from exc
    except smtplib.SMTPResponseException as exc:
        code = exc.smtp_code
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        if 400 <= code < 500:
            raise TransientError(f"{what}: temporary failure {code} {text}") from exc
        raise KithError(f"{what}: the server refused the message: {code} {text}") from exc
    except smtplib.SMTPRecipientsRefused as exc:
        codes = {code for code, _ in exc.recipients.values()}
        if all(400 <= c < 500 for c in codes):
            raise TransientError(f"{what}: recipient temporarily refused {sorted(codes)}") from exc
        raise ConfigError(
            f"kith.toml: [report] to: the server refused the recipient {sorted(exc.recipients)}: {exc.recipients}"
        ) from exc
    except ssl.SSLCertVerificationError as exc:
        raise ConfigError(
            f"{what}: TLS certificate not trusted: {exc.verify_message}",
            hint="set ca_file to the server's CA certificate (verification stays on)",
        ) from exc
    except LoginError as exc:
        raise AuthError(f"{what}: the IMAP server refused the login", mailbox=mailbox) from exc
    except (TimeoutError, smtplib.SMTPException, OSError, ssl.SSLError, imaplib.IMAP4.error) as exc:
        raise TransientError(f"{what}: {type(exc).__name__}: {exc}") from exc


def _tls_context(ca_file: Path | None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)


def send_smtp(smtp: SmtpConfig, message: EmailMessage, *, envelope_from: str, recipients: list[str]) -> None:
    """Submit over SMTP: implicit TLS (465), STARTTLS (587), or plain on loopback only."""
    if smtp.tls == "none" and not is_loopback(smtp.host):
        raise ConfigError(
            f'kith.toml: [report.smtp] tls: "none" is only allowed to a loopback host, not {smtp.host!r}',
            hint='use tls = "starttls" or "implicit"',
        )
    password = None if smtp.password.empty else smtp.password.resolve()
    if password is not None and not smtp.username:
        raise ConfigError("kith.toml: [report.smtp] username: a password source is set but no username")
    timeout = smtp.timeout.total_seconds()
    what = f"SMTP {smtp.host}:{smtp.port}"
    with map_errors(what):
        client: smtplib.SMTP
        if smtp.tls == "implicit":
            client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=timeout, context=_tls_context(smtp.ca_file))
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=timeout)
        with client:
            client.ehlo()
            if smtp.tls == "starttls":
                client.starttls(context=_tls_context(smtp.ca_file))
                client.ehlo()
            if smtp.username and password is not None:
                client.login(smtp.username, password)
            refused = client.send_message(message, from_addr=envelope_from, to_addrs=recipients)
            if refused:
                raise ConfigError(f"kith.toml: [report] to: the server refused {sorted(refused)}: {refused}")
    log.info("report %s accepted by %s", message["Message-ID"], what)


def append_imap(config: Config, mailbox_name: str, message: EmailMessage, *, folder: str = "INBOX") -> bool:
    """APPEND into the owner's INBOX through a configured IMAP mailbox; no SMTP needed.

    Idempotent by Message-ID: a retry after a crash finds the first copy and appends nothing.
    Returns False when the message was already there.
    """
    from kith.config.mailboxes import ImapMailbox

    mailbox = config.mailbox(mailbox_name)
    if not isinstance(mailbox, ImapMailbox):
        raise ConfigError(
            f'kith.toml: [report] mailbox: {mailbox_name!r} is a {mailbox.kind} mailbox; deliver = "imap" needs kind = "imap"'
        )
    message_id = str(message["Message-ID"])
    with map_errors(f"IMAP {mailbox.host}", mailbox=mailbox.name), _imap_client(config, mailbox) as client:
        client.select_folder(folder)
        found = client.search(["HEADER", "Message-ID", message_id])
        if found:
            log.info("report %s already in %s/%s; not appending again", message_id, mailbox.name, folder)
            return False
        client.append(folder, bytes(message), flags=(), msg_time=None)
    log.info("report %s appended to %s/%s", message_id, mailbox.name, folder)
    return True


@contextmanager
def _imap_client(config: Config, mailbox: object) -> Iterator[Any]:
    """The IMAP connector's connection helper when it exists; else a plain IMAPClient login."""
    try:
        connection = importlib.import_module("kith.connectors.imap.connection")
    except ModuleNotFoundError:
        connection = None
    connect = getattr(connection, "connect", None) if connection else None
    if connect is not None:
        client = connect(mailbox, state_dir=config.state_dir)
        try:
            yield client
        finally:
            _logout(client)
        return
    import imapclient

    mb = mailbox  # ImapMailbox
    if getattr(mb, "auth", "password") != "password":
        raise ConfigError(
            f"{mb.name}: auth = {mb.auth!r} for report delivery needs the IMAP connector's connection helper",  # type: ignore[attr-defined]
        )
    ctx = None
    if mb.tls != "none":  # type: ignore[attr-defined]
        ctx = _tls_context(mb.ca_file)  # type: ignore[attr-defined]
        if not mb.verify_tls:  # type: ignore[attr-defined]
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
    client = imapclient.IMAPClient(
        mb.host,  # type: ignore[attr-defined]
        port=mb.effective_port,  # type: ignore[attr-defined]
        ssl=mb.tls == "implicit",  # type: ignore[attr-defined]
        ssl_context=ctx,
        timeout=mb.timeout.total_seconds(),  # type: ignore[attr-defined]
    )
    try:
        if mb.tls == "starttls":  # type: ignore[attr-defined]
            client.starttls(ctx)
        client.login(mb.username, mb.password.resolve())  # type: ignore[attr-defined]
        yield client
    finally:
        _logout(client)


def _logout(client: object) -> None:
    try:
        client.logout()  # type: ignore[attr-defined]
    except Exception:  # the message is already stored or the error already raised; closing is best effort
        log.debug("IMAP logout failed", exc_info=True)


def send_provider(config: Config, kind: str, mailbox_name: str, message: EmailMessage) -> None:
    """Gmail / Graph send endpoints, when that connector package offers ``send_message``."""
    mailbox = config.mailbox(mailbox_name)
    if mailbox.kind != kind:
        raise ConfigError(f'kith.toml: [report] mailbox: {mailbox_name!r} is a {mailbox.kind} mailbox, not "{kind}"')
    module = importlib.import_module(f"kith.connectors.{kind}")
    send = getattr(module, "send_message", None)
    if send is None:
        raise ConfigError(
            f'kith.toml: [report] deliver = "{kind}": the {kind} connector cannot send mail yet '
            f"(kith.connectors.{kind}.send_message is missing)",
            hint='use deliver = "smtp" or "imap" for now',
        )
    send(mailbox, message, config.state_dir)


def deliver(config: Config, message: EmailMessage, *, recipient: str, envelope_from: str) -> str:
    """Deliver by ``[report] deliver``; returns a short description of where it went."""
    report = config.settings.report
    if report.deliver == "smtp":
        send_smtp(report.smtp, message, envelope_from=envelope_from, recipients=[recipient])
        return f"smtp {report.smtp.host}:{report.smtp.port}"
    if report.deliver in ("imap", "gmail", "graph"):
        if not report.mailbox:
            raise ConfigError(
                f'kith.toml: [report] mailbox: deliver = "{report.deliver}" needs the mailbox to deliver through'
            )
        if report.deliver == "imap":
            added = append_imap(config, report.mailbox, message)
            return f"imap {report.mailbox}/INBOX" + ("" if added else " (already there)")
        send_provider(config, report.deliver, report.mailbox, message)
        return f"{report.deliver} {report.mailbox}"
    raise ConfigError(
        'kith.toml: [report] deliver: "none" means the report is only written, never sent',
        hint='set deliver = "smtp" (with [report.smtp]) or "imap" (with mailbox = NAME)',
    )


__all__ = ["append_imap", "deliver", "map_errors", "send_provider", "send_smtp"]
