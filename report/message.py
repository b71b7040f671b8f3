"""Build the report's email message (RFC 5322 + MIME) from a rendered report.

Structure (what every major client shows best)::

    multipart/alternative
    ├── text/plain                 the text version
    └── text/html                  the HTML version; its charts are HTML bars, so no image parts

Headers, and why:

- ``Auto-Submitted: auto-generated`` (RFC 3834): kith's own classifier, vacation responders and
  other tools treat the report as automated, never as personal mail waiting for an answer.
- ``X-Auto-Response-Suppress: All``: Exchange/Outlook send no out-of-office replies to it.
- No ``Precedence: bulk``: it is non-standard (RFC 3834 §2 recommends Auto-Submitted instead),
  and Gmail and Outlook read it as a mass-mailing signal that pushes a one-to-one report towards
  the Promotions tab or spam. The report is to one person, about that person: not bulk.
- ``Message-ID`` is chosen when the report is claimed and stored in the ``reports`` row, so a
  retry after a crash re-sends the *same* Message-ID: Gmail drops such duplicates, and IMAP
  delivery checks for it before APPEND.
- ``Date`` in the configured time zone, so the offset a client shows matches the report's times.
- Non-ASCII display names and subjects are RFC 2047-encoded by the stdlib's ``email.policy.SMTP``.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from kith.errors import ConfigError
from kith.report.formatting import zone
from kith.report.render import Rendered
from kith.text import clean_text

REPORT_HEADER = "X-Kith-Report"


def parse_address(value: str, *, key: str, name: str = "") -> Address:
    """``"Name <a@b>"`` or ``"a@b"`` into an Address; a ConfigError naming the key otherwise."""
    from email.utils import parseaddr

    display, addr = parseaddr(value)
    if not addr or "@" not in addr:
        raise ConfigError(f"kith.toml: [report] {key}: {value!r} is not an email address")
    local, _, domain = addr.rpartition("@")
    try:
        return Address(display_name=display or name, username=local, domain=domain)
    except (ValueError, IndexError) as exc:
        raise ConfigError(f"kith.toml: [report] {key}: {value!r} is not a usable address: {exc}") from exc


def new_message_id(day: date, sender: Address) -> str:
    """``<kith-report.DATE.RANDOM@sender-domain>``: unique, and never leaks the host name."""
    return f"<kith-report.{day.isoformat()}.{secrets.token_hex(8)}@{sender.domain or 'kith.invalid'}>"


def build_message(
    rendered: Rendered,
    *,
    day: date,
    sender: Address,
    recipient: Address,
    message_id: str,
    now: datetime,
    timezone: str,
) -> EmailMessage:
    """The complete message, ready for ``smtplib.send_message`` or IMAP APPEND (``bytes(msg)``)."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = recipient
    msg["Subject"] = " ".join(clean_text(rendered.subject).split())  # a header: one line, whatever it holds
    msg["Date"] = format_datetime(now.astimezone(zone(timezone)))
    msg["Message-ID"] = message_id
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg[REPORT_HEADER] = day.isoformat()
    msg.set_content(rendered.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="quoted-printable")
    return msg


__all__ = ["REPORT_HEADER", "build_message", "new_message_id", "parse_address"]
