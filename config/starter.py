"""What `kith init` writes and what `kith config check` prints (with secrets masked)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kith.config.load import Config
from kith.config.redact import mask_url
from kith.config.secrets import write_private

STARTER = """\
# kith.toml — global settings. Each mailbox has its own file in mailboxes.d/.
# Any key can be overridden from the environment: KITH_SECTION__KEY (e.g. KITH_DATABASE__URL).
# Durations are written like "90s", "5m", "2h", "2d", "1w".

[me]
name = ""                               # your name, used in the report greeting
addresses = []                          # extra addresses of yours beyond each mailbox's own

[database]
# path = "/var/lib/kith/kith.db"        # SQLite (the default lives in the state directory)
# url = "postgresql+psycopg://kith@db.internal/kith"   # PostgreSQL for teams and many workers

[analysis]
include_cc = false                      # does a message where you are only in Cc wait for an answer?
unanswered_after = "2d"                 # how old a personal message must be to count as unanswered
personal_max_recipients = 10
broadcast_min_recipients = 10
reconnect_max_gap = "60d"
# aliases = { "ann@work.example" = ["ann@gmail.com"] }   # several addresses, one person

[report]
# to = "you@example.com"
# from = "kith@example.com"
send_at = "07:00:00"                    # local time in `timezone`
timezone = "UTC"
deliver = "none"                        # "smtp", "imap" (APPEND to your INBOX), "gmail", "graph" or "none"
# mailbox = "work"                      # for deliver = "imap"/"gmail"/"graph": which mailbox
max_items = 10

[report.smtp]
host = "localhost"
port = 587
tls = "starttls"                        # "starttls", "implicit" or "none"
# username = "you@example.com"
# password_file = "/etc/kith/smtp.password"   # chmod 600; never put the password itself here

[daemon]
default_poll_interval = "5m"
max_backoff = "1h"
# metrics_port = 9469                   # Prometheus metrics on 127.0.0.1

[web]
listen = "127.0.0.1:8477"               # `kith web`, and `kith run` serves it too; remove to turn it off
# allow_remote = false                  # any non-loopback address needs this and TLS:
# tls_cert = "/etc/kith/web.crt"
# tls_key = "/etc/kith/web.key"
# allowed_hosts = ["kith.example.com"]  # Host names a remote browser uses
"""

MAILBOX_EXAMPLE = """\
# One file per mailbox; the file name is the mailbox name. Remove `enabled = false` when ready.
enabled = false
kind = "imap"                           # "imap", "gmail", "graph", "maildir" or "mbox"
addresses = ["you@example.com"]         # your address(es) in this mailbox
host = "imap.example.com"
port = 993
tls = "implicit"                        # "implicit" (993), "starttls" (143) or "none" (loopback only)
username = "you@example.com"
password_file = "/etc/kith/example.password"   # or password_command = "pass show mail" / password_credential
poll_interval = "5m"
# roles = { "Sent Items" = "sent" }     # folder roles when the server does not announce them
# include_roles = ["junk"]              # junk, trash and drafts are skipped unless listed here

# [calendar]
# kind = "caldav"                       # "caldav", "google", "graph" or "ics"
# url = "https://dav.example.com/calendars/you/"
# username = "you"
# password_file = "/etc/kith/caldav.password"
# max_occurrences = 5000                # occurrences of one recurring event kept in the window
# max_subdaily_occurrences = 100        # ... of one recurring more often than daily
# expand_budget = "5s"                  # time one calendar object may take to expand
"""


def write_starter(directory: Path, *, force: bool = False) -> list[Path]:
    """Write kith.toml and an example mailbox file; refuses to overwrite unless ``force``."""
    directory.mkdir(parents=True, exist_ok=True)
    targets = {directory / "kith.toml": STARTER, directory / "mailboxes.d" / "example.toml": MAILBOX_EXAMPLE}
    existing = [p for p in targets if p.exists()]
    if existing and not force:
        from kith.errors import ConfigError

        raise ConfigError(f"{existing[0]} already exists; use --force to overwrite")
    for path, text in targets.items():
        write_private(path, text)
    return list(targets)


_SECRETISH = ("password_command", "client_secret", "token")


def masked(config: Config) -> dict[str, Any]:
    """The resolved config as plain data, secrets masked (sources named, values never read)."""

    def scrub(data: Any, key: str = "") -> Any:
        if isinstance(data, dict):
            return {k: scrub(v, k) for k, v in data.items()}
        if isinstance(data, list | tuple):
            return [scrub(v, key) for v in data]
        if key == "url" and isinstance(data, str) and "://" in data:
            return mask_url(data)
        if key == "password_command" and isinstance(data, str):
            return data.split()[0] + " ***" if data.split() else "***"
        return str(data) if isinstance(data, Path) else data

    return {
        "file": str(config.path) if config.path else None,
        "state_dir": str(config.state_dir),
        "settings": scrub(config.settings.model_dump(mode="json", by_alias=True)),
        "mailboxes": {
            mb.name: {"file": str(config.files.get(mb.name, "")), **scrub(mb.model_dump(mode="json"))}
            for mb in config.mailboxes
        },
    }


__all__ = ["MAILBOX_EXAMPLE", "STARTER", "masked", "write_starter"]
