"""One file per mailbox (``mailboxes.d/NAME.toml``); ``kind`` picks the model.

Every kind shares ``MailboxBase``; provider settings are separate models so a provider's fields
are validated (unknown keys rejected) only against its own kind.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from kith.config.durations import Duration
from kith.config.models import Frozen
from kith.config.secrets import SecretRef
from kith.config.validators import HttpUrl, is_loopback

RoleName = Literal["inbox", "sent", "archive", "all", "junk", "trash", "drafts", "other"]


class PasswordFields(Frozen):
    password_file: Path | None = Field(default=None, examples=["/etc/kith/work.password"])
    """A file holding the password (mode 600; kith refuses a file others can read)."""
    password_command: str | None = Field(default=None, examples=["pass show mail/work"])
    """A command printing the password on its first line (instead of password_file)."""
    password_credential: str | None = Field(default=None, examples=["work-password"])
    """A systemd credential name (LoadCredential=) holding the password."""

    @model_validator(mode="after")
    def _one_password_source(self) -> PasswordFields:
        self.password  # noqa: B018 - validates that at most one source is given
        return self

    @property
    def password(self) -> SecretRef:
        return SecretRef(file=self.password_file, command=self.password_command, credential=self.password_credential)


# --- calendars ---------------------------------------------------------------------------------


class CalendarBase(Frozen):
    window_past: Duration = timedelta(days=365)
    """How far back meetings are read (recurring ones expanded)."""
    window_future: Duration = timedelta(days=90)
    """How far ahead meetings are read (a meeting ahead counts as being in touch)."""
    max_occurrences: int = Field(default=5000, ge=1, le=1_000_000)
    """Occurrences of one recurring event kept in the window (more is a recorded problem)."""
    max_subdaily_occurrences: int = Field(default=100, ge=1, le=1_000_000)
    """Occurrences kept of an event recurring more often than daily (HOURLY, MINUTELY, SECONDLY)."""
    expand_budget: Duration = timedelta(seconds=5)
    """Time one calendar object (an .ics file, a CalDAV resource) may take to expand."""


class IcsCalendar(CalendarBase):
    kind: Literal["ics"]
    """An .ics file (an export or a synced copy)."""
    path: Path = Field(examples=["/home/you/calendar.ics"])
    """The .ics file."""


class CaldavCalendar(CalendarBase, PasswordFields):
    kind: Literal["caldav"]
    """A CalDAV server (Nextcloud, Fastmail, Radicale, iCloud…)."""
    url: HttpUrl = Field(examples=["https://dav.example.com/calendars/you/"])
    """The calendar home (or principal) URL."""
    username: str | None = Field(default=None, examples=["you"])
    """The login; none: no authentication."""
    calendars: tuple[str, ...] = ()
    """Calendar display names to read; empty: all of them."""
    verify_tls: bool = True
    """Check the server's certificate (leave on)."""
    timeout: Duration = timedelta(seconds=60)
    """Give up on a silent server after this long."""


class GoogleCalendar(CalendarBase):
    kind: Literal["google"]
    """Google Calendar, through the Gmail mailbox's OAuth token."""
    calendar_ids: tuple[str, ...] = ("primary",)
    """Calendar ids to read."""
    api_endpoint: HttpUrl | None = None
    """Base URL of the Calendar API including calendar/v3/ (tests point it at a local fake)."""


class GraphCalendar(CalendarBase):
    kind: Literal["graph"]
    """The Outlook calendar of a Microsoft 365 mailbox."""


Calendar = Annotated[IcsCalendar | CaldavCalendar | GoogleCalendar | GraphCalendar, Field(discriminator="kind")]


# --- mailboxes ---------------------------------------------------------------------------------


class MailboxBase(Frozen):
    """Settings every mailbox has. ``name`` comes from the file name."""

    name: str = ""
    """The mailbox's name: its file name (leave it out)."""
    enabled: bool = True
    """A disabled mailbox is neither synced nor checked."""
    addresses: tuple[str, ...] = Field(default=(), examples=[["you@example.com"]])
    """Your addresses in this mailbox (the first is its own): they tell sent mail from received."""
    poll_interval: Duration | None = Field(default=None, examples=["5m"])
    """How often `kith run` syncs it; default: [daemon] default_poll_interval."""
    roles: dict[str, RoleName] = Field(default_factory=dict, examples=[{"Sent Items": "sent"}])
    """Folder name -> role, for servers that do not announce them."""
    include_roles: tuple[RoleName, ...] = Field(default=(), examples=[["junk"]])
    """Roles synced although skipped by default (junk, trash and drafts are)."""
    exclude: tuple[str, ...] = Field(default=(), examples=[["Newsletters"]])
    """Folders never synced (exact names)."""
    calendar: Calendar | None = None
    """The calendar that goes with this mailbox, if any."""
    batch_size: int = Field(default=500, ge=1, le=10000)
    """Messages stored per transaction (a crash re-pulls at most one batch)."""

    @field_validator("addresses")
    @classmethod
    def _lower(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(a.strip().lower() for a in value)


class MaildirMailbox(MailboxBase):
    """A local Maildir++ tree (``cur``/``new`` per folder; subfolders as ``.Name``) or mbsync's layout."""

    kind: Literal["maildir"]
    """A local Maildir tree."""
    path: Path = Field(examples=["/home/you/Maildir"])
    """Its top folder (holding cur/, new/ and the .Folder subfolders)."""


class MboxMailbox(MailboxBase):
    """An mbox file, or a folder of mbox files (one stream each)."""

    kind: Literal["mbox"]
    """A local mbox file or folder of them."""
    path: Path = Field(examples=["/home/you/mail/archive.mbox"])
    """The mbox file, or a folder of mbox files."""


class ImapMailbox(MailboxBase, PasswordFields):
    kind: Literal["imap"]
    """An IMAP server."""
    host: str = Field(examples=["imap.example.com"])
    """The IMAP server."""
    port: int | None = Field(default=None, examples=[993])
    """Its port; default: 993 for implicit TLS, 143 for starttls."""
    tls: Literal["implicit", "starttls", "none"] = "implicit"
    """"implicit" (port 993), "starttls" (143) or "none" (only for a loopback host)."""
    username: str = Field(examples=["you@example.com"])
    """The login."""
    auth: Literal["password", "xoauth2"] = "password"
    """"password", or "xoauth2" with a token from `kith auth`."""
    ca_file: Path | None = Field(default=None, examples=["/etc/kith/imap-ca.pem"])
    """A CA certificate to trust for this server (verification stays on)."""
    verify_tls: bool = True
    """Check the server's certificate (leave on)."""
    timeout: Duration = timedelta(seconds=60)
    """Give up on a silent server after this long."""
    idle: bool = True
    """Wait for new mail with IMAP IDLE between polls (`kith run`)."""
    folders: tuple[str, ...] = ()
    """Folders to sync; empty: discover them all and sync by role."""
    use_condstore: bool = True
    """Use CONDSTORE/QRESYNC when the server offers them (faster incremental syncs)."""

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
    api_endpoint: HttpUrl | None = None
    #: OAuth token endpoint; google-auth ignores the one in a token file on purpose, so it is set here.
    token_uri: HttpUrl | None = None
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
    api_endpoint: HttpUrl = "https://graph.microsoft.com/v1.0"
    authority: HttpUrl | None = None
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
    "is_loopback",
]
