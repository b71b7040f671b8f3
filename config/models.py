"""The global settings (``kith.toml``): who I am, where the database is, the rule thresholds,
the report and the daemon. Read once, frozen, passed down; nothing reads settings by string key.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from kith.config.durations import Duration
from kith.config.secrets import SecretRef
from kith.config.validators import DatabaseUrl, EmailAddress, TimeZoneName, is_loopback


class Frozen(BaseModel):
    """Frozen, strict settings. The docstring under each field is its help text: `kith init`
    writes it above the key (``use_attribute_docstrings``), so the starter file cannot drift."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class MeConfig(Frozen):
    """Who I am, beyond each mailbox's own addresses."""

    name: str = Field(default="", examples=["Ada Lovelace"])
    """Your name: the display name on the report's To: header."""
    addresses: tuple[str, ...] = Field(default=(), examples=[["ada@example.com", "ada@oldjob.example"]])
    """More addresses of yours beyond every mailbox's `addresses` (mail from them is yours)."""

    @field_validator("addresses")
    @classmethod
    def _lower(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(a.strip().lower() for a in value)


class DatabaseConfig(Frozen):
    """Where kith keeps what it learns: SQLite by default, PostgreSQL for teams and scale."""

    url: DatabaseUrl | None = Field(default=None, examples=["postgresql+psycopg://kith@db.internal/kith"])
    """A PostgreSQL URL (postgresql+psycopg://user@host/db); wins over `path`. Only sqlite and
    postgresql URLs work."""
    path: Path | None = Field(default=None, examples=["/var/lib/kith/kith.db"])
    """The SQLite file; default: kith.db in the state directory."""
    echo: bool = False
    """Log every SQL statement (debugging only: very verbose)."""


class AnalysisConfig(Frozen):
    """Rule thresholds; the defaults are the rules' definitions (README "The rules")."""

    include_cc: bool = False
    """Does a personal message where you are only in Cc wait for your answer?"""
    unanswered_after: Duration = timedelta(days=2)
    """How old a personal message to you must be before it counts as unanswered."""
    personal_max_recipients: int = 10
    """A message to more people than this (To + Cc + Bcc) is not personal."""
    automated_share: float = 0.9
    """A sender whose mail is at least this share automated (and whom you never wrote to
    personally) is an automated sender, kept out of every rule."""
    broadcast_min_recipients: int = 10
    """A message of yours to at least this many people is a broadcast."""
    merge_min_messages: int = 5
    """This many messages of yours with one subject to different people within `merge_window`
    are a mail merge (broadcasts)."""
    merge_window: Duration = timedelta(hours=24)
    """The time window of a mail merge."""
    broadcast_only_window: Duration = timedelta(days=180)
    """How far back "only broadcasting" looks."""
    broadcast_only_min: int = 3
    """At least this many broadcasts (and nothing personal) in the window flag a contact."""
    one_sided_min: int = 3
    """Pull back: at least this many personal messages of yours in a row with no answer…"""
    one_sided_span: Duration = timedelta(days=14)
    """…spanning at least this long."""
    reconnect_min_interactions: int = 4
    """Reconnect applies to two-way contacts with at least this many personal interactions in
    `reconnect_year`."""
    reconnect_year: Duration = timedelta(days=365)
    """The window the reconnect rule and the cadence look at."""
    reconnect_min_gap: Duration = timedelta(days=14)
    """Never overdue before this long since the last personal interaction."""
    reconnect_factor: float = 1.5
    """Overdue after this many times the contact's usual cadence…"""
    reconnect_max_gap: Duration = timedelta(days=60)
    """…or after this long, whatever the cadence."""
    meeting_max_attendees: int = 8
    """A meeting with more attendees than this is not a personal interaction."""
    aliases: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, examples=[{"ann@work.example": ["ann.private@gmail.com"]}]
    )
    """Several addresses of one person: canonical address -> its other addresses."""
    gmail_domains: tuple[str, ...] = ("gmail.com", "googlemail.com")
    """Domains where dots and +tags in the local part provably do not matter (Google's rule)."""


class SmtpConfig(Frozen):
    """The SMTP server the report goes out through (deliver = "smtp")."""

    host: str = "localhost"
    """The SMTP server."""
    port: int = 587
    """Its port: 587 for starttls, 465 for implicit TLS."""
    tls: Literal["starttls", "implicit", "none"] = "starttls"
    """"starttls", "implicit" or "none" (none only for a server on this machine)."""
    username: str | None = Field(default=None, examples=["you@example.com"])
    """The login; none: send without authenticating."""
    password_file: Path | None = Field(default=None, examples=["/etc/kith/smtp.password"])
    """A file holding the password (mode 600; kith refuses a file others can read)."""
    password_command: str | None = Field(default=None, examples=["pass show smtp"])
    """A command printing the password on its first line (instead of password_file)."""
    password_credential: str | None = Field(default=None, examples=["smtp-password"])
    """A systemd credential name (LoadCredential=) holding the password."""
    ca_file: Path | None = Field(default=None, examples=["/etc/kith/smtp-ca.pem"])
    """A CA certificate to trust for this server (verification stays on)."""
    timeout: Duration = timedelta(seconds=30)
    """Give up on a silent server after this long."""

    @model_validator(mode="after")
    def _safe(self) -> SmtpConfig:
        if self.tls == "none" and not is_loopback(self.host):
            raise ValueError(f'tls = "none" is only allowed to a loopback host, not {self.host!r}')
        if not self.password.empty and not self.username:
            raise ValueError("a password source is set but no username")
        return self

    @property
    def password(self) -> SecretRef:
        return SecretRef(file=self.password_file, command=self.password_command, credential=self.password_credential)


class ReportConfig(Frozen):
    """The nightly report: to whom, when (local time), and how it goes out."""

    to: EmailAddress | None = Field(default=None, examples=["you@example.com"])
    """Who gets the report; default: the first of your addresses."""
    from_: EmailAddress | None = Field(default=None, alias="from", examples=["kith@example.com"])
    """Its From: address; default: the `to` address."""
    send_at: time = time(7, 0)
    """When to send it, local time in `timezone`."""
    timezone: TimeZoneName = "UTC"
    """The IANA time zone the report's times are shown in (e.g. "Europe/Berlin")."""
    deliver: Literal["smtp", "imap", "gmail", "graph", "none"] = "none"
    """"smtp" (see [report.smtp]), "imap" (APPEND to your INBOX), "gmail", "graph" (through
    `mailbox`) or "none" (only `kith report` shows it)."""
    mailbox: str | None = Field(default=None, examples=["work"])
    """For deliver = "imap", "gmail" or "graph": the mailbox (its file name) to deliver through."""
    max_items: int = 10
    """Items shown per section; the rest are counted, with the command that lists them."""
    smtp: SmtpConfig = SmtpConfig()
    output_dir: Path | None = Field(default=None, examples=["/var/lib/kith/reports"])
    """Keep a copy of each report here: kith-report-DATE.html and .txt (mode 600), for every
    nightly report sent and every one `kith report` shows; none: no copies."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, use_attribute_docstrings=True)


class DaemonConfig(Frozen):
    """`kith run`: how often, how many at once, how long."""

    default_poll_interval: Duration = timedelta(minutes=5)
    """How often a mailbox is synced when its file sets no `poll_interval`."""
    jitter: float = 0.1
    """Each interval varies by up to this share, so mailboxes do not all sync at once."""
    first_window: Duration = timedelta(days=90)
    """On a stream's first sync, this much recent mail is synced (all streams, all mailboxes) and
    analysed first, so the first flags come before the rest of the history; 0 turns it off."""
    max_backoff: Duration = timedelta(hours=1)
    """The longest wait before retrying a failing mailbox (the wait doubles up to this)."""
    sync_timeout: Duration = timedelta(minutes=30)
    """A sync running longer than this is stopped (after its batch) and retried later."""
    lease: Duration = timedelta(seconds=60)
    """How long a worker's claim on a mailbox lasts without renewal (several workers on one
    PostgreSQL database); also how soon `kith status` says a silent daemon is gone."""
    workers: int = 4
    """Mailboxes synced at the same time by one `kith run`."""
    metrics_port: int | None = Field(default=None, examples=[9465])
    """Serve Prometheus metrics on 127.0.0.1 at this port; none: no metrics."""
    worker_id: str | None = Field(default=None, examples=["kith-1"])
    """This worker's name in leases and `kith status`; default: host:pid."""


class WebConfig(Frozen):
    """The local web app (`kith web`; `kith run` serves it too when `listen` is set).

    Loopback only unless `allow_remote` is set and a TLS certificate and key are given: the
    pages show who you write to, so they never cross a network in clear text. The starter
    config sets listen = "127.0.0.1:8477"."""

    listen: str | None = Field(default=None, examples=["127.0.0.1:8477"])
    """HOST:PORT of `kith web` ([::1]:8477 for IPv6); `kith run` serves it too when set."""
    allow_remote: bool = False
    """Listen on a non-loopback address (needs tls_cert and tls_key too)."""
    tls_cert: Path | None = Field(default=None, examples=["/etc/kith/web.crt"])
    """The TLS certificate for a non-loopback listen address."""
    tls_key: Path | None = Field(default=None, examples=["/etc/kith/web.key"])
    """Its private key (mode 600)."""
    allowed_hosts: tuple[str, ...] = Field(default=(), examples=[["kith.example.com"]])
    """Host names a remote browser uses, accepted besides the listen address and the loopback
    names; any other Host header is refused (DNS rebinding)."""
    session_lifetime: Duration = timedelta(days=30)
    """How long the login cookie holds before a new one-time login URL is needed."""
    public_url: str | None = Field(default=None, examples=["https://kith.example.com"])
    """The https address the web app is reachable at from your phone (a reverse proxy, a VPN
    address); when set, report rows also carry signed links to Done / Snooze on the web app."""

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        if not re.fullmatch(r"https://[A-Za-z0-9.\-\[\]:]+(/[A-Za-z0-9._~\-/]*)?", value):
            raise ValueError(f"{value!r} is not an https:// address (e.g. https://kith.example.com)")
        return value

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str | None) -> str | None:
        if value is not None:
            split_listen(value)
        return value


def split_listen(value: str) -> tuple[str, int]:
    """``"127.0.0.1:8477"`` -> ("127.0.0.1", 8477); ``"[::1]:8477"`` -> ("::1", 8477)."""
    host, sep, port = value.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r} is not HOST:PORT (e.g. 127.0.0.1:8477)")
    if host.startswith("["):
        host = host.strip("[]")
    return host, int(port)


class ActionsConfig(Frozen):
    """Acting from the report: its Done / Snooze links send a signed command to yourself."""

    enabled: bool = True
    """Put Done / Snooze links on the report's rows (mailto: links to your own address)."""
    expire_after: Duration = timedelta(days=14)
    """How long a report's links work; each works once."""

    @field_validator("expire_after")
    @classmethod
    def _expire_after(cls, value: timedelta) -> timedelta:
        if value > timedelta(days=366):  # a stolen link lives no longer; the token's 4-byte expiry ends in 2106
            raise ValueError("expire_after: at most 366d")
        return value


class GlobalConfig(BaseSettings):
    """``kith.toml``. Environment variables ``KITH_SECTION__KEY`` override the file."""

    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        env_prefix="KITH_",
        env_nested_delimiter="__",
        case_sensitive=False,
        use_attribute_docstrings=True,
    )

    me: MeConfig = MeConfig()
    database: DatabaseConfig = DatabaseConfig()
    analysis: AnalysisConfig = AnalysisConfig()
    report: ReportConfig = ReportConfig()
    daemon: DaemonConfig = DaemonConfig()
    web: WebConfig = WebConfig()
    actions: ActionsConfig = ActionsConfig()
    mailboxes_dir: Path = Path("mailboxes.d")
    """The folder of the mailbox files (one NAME.toml each), relative to this file."""
    state_dir: Path | None = Field(default=None, examples=["/var/lib/kith"])
    """Database, OAuth tokens and report keys; default: $STATE_DIRECTORY under systemd, else
    ~/.local/share/kith."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file is passed as init kwargs; the environment must win over it.
        return (env_settings, init_settings)


__all__ = [
    "ActionsConfig",
    "AnalysisConfig",
    "DaemonConfig",
    "DatabaseConfig",
    "Frozen",
    "GlobalConfig",
    "MeConfig",
    "ReportConfig",
    "SmtpConfig",
    "WebConfig",
    "split_listen",
]
