"""Hand the finished message to a mail system: SMTP, or the sender of a mailbox's connector.

SMTP is the report's own (``[report.smtp]``, no mailbox involved). Every other way goes through
the connector contract: the ``[report] mailbox``'s connector offers a ``Sender`` (IMAP APPEND,
Gmail ``messages.send``, Graph ``sendMail``) that logs in exactly as its sync does (password,
XOAUTH2, OAuth tokens) and maps its library's errors itself.

Errors leave as kith errors (``map_errors``): refused credentials are an ``AuthError`` (retrying
will not help; the fix is the password source or ``kith auth``), network trouble and 4xx replies
are ``TransientError`` (the caller retries with backoff), and settings that cannot work are a
``ConfigError`` naming the key.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path

from kith.config.load import Config
from kith.config.mailboxes import is_loopback
from kith.config.models import SmtpConfig
from kith.connectors.registry import sender
from kith.errors import AuthError, ConfigError, KithError, TransientError

log = logging.getLogger(__name__)


@contextmanager
def map_errors(what: str) -> Iterator[None]:
    """smtplib / socket / ssl errors → kith errors, ``from`` the original (a connector's sender
    maps its own library's errors)."""
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
    except (TimeoutError, smtplib.SMTPException, OSError, ssl.SSLError) as exc:
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


def send_through(config: Config, kind: str, mailbox_name: str, message: EmailMessage) -> str:
    """Hand the message to the sender of the ``[report] mailbox``'s connector (IMAP APPEND, Gmail,
    Graph); returns what the connector said about where it went."""
    mailbox = config.mailbox(mailbox_name)
    if mailbox.kind != kind:
        raise ConfigError(
            f'kith.toml: [report] mailbox: {mailbox_name!r} is a {mailbox.kind} mailbox; deliver = "{kind}" needs kind = "{kind}"'
        )
    send = sender(mailbox)
    if send is None:
        raise ConfigError(
            f'kith.toml: [report] deliver = "{kind}": the {kind} connector cannot send mail',
            hint='use deliver = "smtp", or a mailbox of kind "imap", "gmail" or "graph"',
        )
    where = send(mailbox, message, state_dir=config.state_dir)
    log.info("report %s delivered through %s: %s", message["Message-ID"], mailbox_name, where)
    return where


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
        where = send_through(config, report.deliver, report.mailbox, message)
        if report.deliver == "imap":
            return f"imap {report.mailbox}/{where}"
        return f"{report.deliver} {report.mailbox}"
    raise ConfigError(
        'kith.toml: [report] deliver: "none" means the report is only written, never sent',
        hint='set deliver = "smtp" (with [report.smtp]) or "imap" (with mailbox = NAME)',
    )


__all__ = ["deliver", "map_errors", "send_smtp", "send_through"]
