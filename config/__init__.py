"""kith.config: typed, frozen settings loaded once from ``kith.toml`` and ``mailboxes.d/*.toml``."""

from __future__ import annotations

from kith.config.durations import Duration, format_duration, parse_duration
from kith.config.load import Config, default_config_path, default_state_dir, load_config
from kith.config.mailboxes import (
    CaldavCalendar,
    GmailMailbox,
    GoogleCalendar,
    GraphCalendar,
    GraphMailbox,
    IcsCalendar,
    ImapMailbox,
    MailboxBase,
    MaildirMailbox,
    MboxMailbox,
)
from kith.config.models import (
    AnalysisConfig,
    DaemonConfig,
    DatabaseConfig,
    GlobalConfig,
    MeConfig,
    ReportConfig,
    SmtpConfig,
)
from kith.config.secrets import SecretRef, write_private

__all__ = [
    "AnalysisConfig",
    "CaldavCalendar",
    "Config",
    "DaemonConfig",
    "DatabaseConfig",
    "Duration",
    "GlobalConfig",
    "GmailMailbox",
    "GoogleCalendar",
    "GraphCalendar",
    "GraphMailbox",
    "IcsCalendar",
    "ImapMailbox",
    "MailboxBase",
    "MaildirMailbox",
    "MboxMailbox",
    "MeConfig",
    "ReportConfig",
    "SecretRef",
    "SmtpConfig",
    "default_config_path",
    "default_state_dir",
    "format_duration",
    "load_config",
    "parse_duration",
    "write_private",
]
