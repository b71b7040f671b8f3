"""The global settings (``kith.toml``): who I am, where the database is, the rule thresholds,
the report and the daemon. Read once, frozen, passed down; nothing reads settings by string key.
"""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from kith.config.durations import Duration
from kith.config.secrets import SecretRef


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MeConfig(Frozen):
    """My identities beyond each mailbox's own address."""

    name: str = ""
    addresses: tuple[str, ...] = ()

    @field_validator("addresses")
    @classmethod
    def _lower(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(a.strip().lower() for a in value)


class DatabaseConfig(Frozen):
    """``url`` wins (``postgresql+psycopg://…``); else SQLite at ``path`` or the default path."""

    url: str | None = None
    path: Path | None = None
    echo: bool = False


class AnalysisConfig(Frozen):
    """Rule thresholds; the defaults are DESIGN.md's."""

    include_cc: bool = False
    unanswered_after: Duration = timedelta(days=2)
    personal_max_recipients: int = 10
    automated_share: float = 0.9
    broadcast_min_recipients: int = 10
    merge_min_messages: int = 5
    merge_window: Duration = timedelta(hours=24)
    broadcast_only_window: Duration = timedelta(days=180)
    broadcast_only_min: int = 3
    one_sided_min: int = 3
    one_sided_span: Duration = timedelta(days=14)
    reconnect_min_interactions: int = 4
    reconnect_year: Duration = timedelta(days=365)
    reconnect_min_gap: Duration = timedelta(days=14)
    reconnect_factor: float = 1.5
    reconnect_max_gap: Duration = timedelta(days=60)
    meeting_max_attendees: int = 8
    #: Extra addresses merged into one contact: canonical address -> other addresses.
    aliases: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    #: Providers on which dots and +tags in the local part provably do not matter.
    gmail_domains: tuple[str, ...] = ("gmail.com", "googlemail.com")


class SmtpConfig(Frozen):
    host: str = "localhost"
    port: int = 587
    tls: Literal["starttls", "implicit", "none"] = "starttls"
    username: str | None = None
    password_file: Path | None = None
    password_command: str | None = None
    password_credential: str | None = None
    ca_file: Path | None = None
    timeout: Duration = timedelta(seconds=30)

    @property
    def password(self) -> SecretRef:
        return SecretRef(file=self.password_file, command=self.password_command, credential=self.password_credential)


class ReportConfig(Frozen):
    """The nightly report: to whom, when (local time), and how it goes out."""

    to: str | None = None
    from_: str | None = Field(default=None, alias="from")
    send_at: time = time(7, 0)
    timezone: str = "UTC"
    deliver: Literal["smtp", "imap", "gmail", "graph", "none"] = "none"
    #: For ``deliver = "imap"``/``"gmail"``/``"graph"``: the mailbox (name) to deliver through.
    mailbox: str | None = None
    max_items: int = 10
    smtp: SmtpConfig = SmtpConfig()
    output_dir: Path | None = None

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class DaemonConfig(Frozen):
    default_poll_interval: Duration = timedelta(minutes=5)
    jitter: float = 0.1
    max_backoff: Duration = timedelta(hours=1)
    sync_timeout: Duration = timedelta(minutes=30)
    lease: Duration = timedelta(seconds=60)
    workers: int = 4
    metrics_port: int | None = None
    worker_id: str | None = None


class WebConfig(Frozen):
    """The local web app (``kith web``; ``kith run`` serves it too when ``listen`` is set).

    Loopback only unless ``allow_remote`` is set *and* a TLS certificate and key are given: the
    pages show who you write to, so they never cross a network in clear text. The starter
    config sets ``listen = "127.0.0.1:8477"``.
    """

    #: ``HOST:PORT`` (``[::1]:8477`` for IPv6); None: ``kith run`` does not serve the web app.
    listen: str | None = None
    allow_remote: bool = False
    tls_cert: Path | None = None
    tls_key: Path | None = None
    #: Host header names accepted besides the listen address and the loopback names (the
    #: name a remote browser uses); anything else is refused (DNS rebinding).
    allowed_hosts: tuple[str, ...] = ()
    #: How long the login cookie holds before a new one-time login URL is needed.
    session_lifetime: Duration = timedelta(days=30)

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


class GlobalConfig(BaseSettings):
    """``kith.toml``. Environment variables ``KITH_SECTION__KEY`` override the file."""

    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        env_prefix="KITH_",
        env_nested_delimiter="__",
        case_sensitive=False,
    )

    me: MeConfig = MeConfig()
    database: DatabaseConfig = DatabaseConfig()
    analysis: AnalysisConfig = AnalysisConfig()
    report: ReportConfig = ReportConfig()
    daemon: DaemonConfig = DaemonConfig()
    web: WebConfig = WebConfig()
    #: Where per-mailbox files live; relative to the kith.toml folder.
    mailboxes_dir: Path = Path("mailboxes.d")
    state_dir: Path | None = None

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
