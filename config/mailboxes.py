"""One file per mailbox (``mailboxes.d/NAME.toml``); ``kind`` picks the model.

Every kind shares ``MailboxBase``; provider settings are separate models so a provider's fields
are validated (unknown keys rejected) only against its own kind.
"""

from __future__ import annotations

from datetime import timedelta
from ipaddress import ip_address
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from kith.config.durations import Duration
from kith.config.models import Frozen
from kith.config.secrets import SecretRef

RoleName = Literal["inbox", "sent", "archive", "all", "junk", "trash", "drafts", "other"]


class PasswordFields(Frozen):
    password_file: Path | None = None
    password_command: str | None = None
    password_credential: str | None = None

    @model_validator(mode="after")
    def _one_password_source(self) -> PasswordFields:
        self.password  # noqa: B018 - validates that at most one source is given
        return self

    @property
    def password(self) -> SecretRef:
        return SecretRef(file=self.password_file, command=self.password_command, credential=self.password_credential)


# --- calendars ---------------------------------------------------------------------------------


class CalendarBase(Frozen):
    #: Recurring events are expanded inside this window around now.
    window_past: Duration = timedelta(days=365)
    window_future: Duration = timedelta(days=90)


class IcsCalendar(CalendarBase):
    kind: Literal["ics"]
    path: Path


class CaldavCalendar(CalendarBase, PasswordFields):
    kind: Literal["caldav"]
    url: str
    username: str | None = None
    calendars: tuple[str, ...] = ()
    verify_tls: bool = True
    timeout: Duration = timedelta(seconds=60)


class GoogleCalendar(CalendarBase):
    kind: Literal["google"]
    calendar_ids: tuple[str, ...] = ("primary",)
    #: Base URL of the Calendar API including ``calendar/v3/`` (tests point it at a local fake).
    api_endpoint: str | None = None


class GraphCalendar(CalendarBase):
    kind: Literal["graph"]


Calendar = Annotated[IcsCalendar | CaldavCalendar | GoogleCalendar | GraphCalendar, Field(discriminator="kind")]


# --- mailboxes ---------------------------------------------------------------------------------


class MailboxBase(Frozen):
    """Settings every mailbox has. ``name`` comes from the file name."""

    name: str = ""
    enabled: bool = True
    #: My addresses in this mailbox (the first is the mailbox's own); used to tell sent from received.
    addresses: tuple[str, ...] = ()
    poll_interval: Duration | None = None
    #: Folder name -> role, overriding discovery.
    roles: dict[str, RoleName] = Field(default_factory=dict)
    #: Roles to sync although they are skipped by default (e.g. ["junk"]).
    include_roles: tuple[RoleName, ...] = ()
    #: Folders never synced (exact names).
    exclude: tuple[str, ...] = ()
    calendar: Calendar | None = None
    batch_size: int = Field(default=500, ge=1, le=10000)

    @field_validator("addresses")
    @classmethod
    def _lower(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(a.strip().lower() for a in value)


class MaildirMailbox(MailboxBase):
    """A local Maildir++ tree (``cur``/``new`` per folder; subfolders as ``.Name``) or mbsync's layout."""

    kind: Literal["maildir"]
    path: Path


class MboxMailbox(MailboxBase):
    """An mbox file, or a folder of mbox files (one stream each)."""

    kind: Literal["mbox"]
    path: Path


class ImapMailbox(MailboxBase, PasswordFields):
    kind: Literal["imap"]
    host: str
    port: int | None = None
    tls: Literal["implicit", "starttls", "none"] = "implicit"
    username: str
    auth: Literal["password", "xoauth2"] = "password"
    ca_file: Path | None = None
    verify_tls: bool = True
    timeout: Duration = timedelta(seconds=60)
    idle: bool = True
    #: Folders to sync; empty means discover all and sync by role.
    folders: tuple[str, ...] = ()
    #: Use QRESYNC/CONDSTORE when offered (tests turn this off to exercise the fallback).
    use_condstore: bool = True

    @model_validator(mode="after")
    def _tls_none_only_on_loopback(self) -> ImapMailbox:
        if self.tls == "none" and not is_loopback(self.host):
            raise ValueError(f'tls = "none" is only allowed for a loopback host, not {self.host!r}')
        return self

    @property
    def effective_port(self) -> int:
        return self.port or (993 if self.tls == "implicit" else 143)


class GmailMailbox(MailboxBase):
    kind: Literal["gmail"]
    #: OAuth client of type "installed app" downloaded from Google Cloud console.
    client_secrets_file: Path | None = None
    token_file: Path | None = None
    service_account_file: Path | None = None
    delegated_user: str | None = None
    user_id: str = "me"
    api_endpoint: str | None = None
    #: OAuth token endpoint; google-auth ignores the one in a token file on purpose, so it is set here.
    token_uri: str | None = None
    #: Mail scopes; gmail.metadata (headers and labels, no bodies) is all kith needs.
    scopes: tuple[str, ...] = ("https://www.googleapis.com/auth/gmail.metadata",)
    #: Gmail's per-user budget is 250 quota units a second (15,000 a minute); 0 turns budgeting off.
    quota_units_per_second: float = Field(default=250.0, ge=0)


class GraphMailbox(MailboxBase):
    kind: Literal["graph"]
    tenant_id: str = "common"
    client_id: str
    auth: Literal["device_code", "client_credentials"] = "device_code"
    client_secret_file: Path | None = None
    client_secret_credential: str | None = None
    #: For app-only auth: the user whose mailbox this is (UPN or id).
    user: str | None = None
    token_cache: Path | None = None
    api_endpoint: str = "https://graph.microsoft.com/v1.0"
    authority: str | None = None
    folders: tuple[str, ...] = ("inbox", "sentitems", "archive")
    page_size: int = Field(default=100, ge=1, le=1000)
    #: Fetch List-Id/List-Unsubscribe/Auto-Submitted with ``$batch`` for mail from others (needs
    #: Mail.Read; delta alone does not carry them). Off: fewer requests, weaker automated-sender rules.
    fetch_headers: bool = True
    #: Requests kith allows itself per 10 minutes for this mailbox (Outlook refuses more than
    #: 10,000, batch parts counted singly); 0 turns pacing off.
    requests_per_10_minutes: int = Field(default=9_800, ge=0, le=10_000)


Mailbox = Annotated[
    MaildirMailbox | MboxMailbox | ImapMailbox | GmailMailbox | GraphMailbox, Field(discriminator="kind")
]


def is_loopback(host: str) -> bool:
    """localhost or a loopback IP: the only hosts where plaintext is tolerated."""
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


__all__ = [
    "CaldavCalendar",
    "Calendar",
    "GmailMailbox",
    "GoogleCalendar",
    "GraphCalendar",
    "GraphMailbox",
    "IcsCalendar",
    "ImapMailbox",
    "Mailbox",
    "MailboxBase",
    "MaildirMailbox",
    "MboxMailbox",
    "PasswordFields",
]
