"""Checks beyond one field's type: secrets on disk, keys that refer to each other, paths and URLs.

``load_config`` runs the first two kinds on every load. Secret files are checked on the raw file
data, before and whatever the validation of the rest says, so a type error elsewhere in a file
never hides a world-readable password file in it: `kith config check` lists every problem of
every file in one pass. Whether configured paths exist is checked by `kith config check` only
(``thorough``): at run time a missing Maildir stops that mailbox, not the whole daemon.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kith.config.mailboxes import IcsCalendar, MailboxBase, MaildirMailbox, MboxMailbox
from kith.config.models import GlobalConfig
from kith.config.secrets import check_secret_file
from kith.errors import ConfigError, ConfigProblem

#: Where secret files are named in a file's raw data: (path of tables, key).
SECRET_KEYS: tuple[tuple[tuple[str, ...], str], ...] = (
    ((), "password_file"),
    ((), "client_secret_file"),
    (("calendar",), "password_file"),
    (("report", "smtp"), "password_file"),
)
#: Keys naming a file or folder that must exist (checked by `kith config check`).
PATH_KEYS = ("ca_file", "client_secrets_file", "service_account_file")


def _table(data: Mapping[str, Any], path: Sequence[str]) -> Mapping[str, Any] | None:
    for key in path:
        inner = data.get(key)
        if not isinstance(inner, Mapping):
            return None
        data = inner
    return data


def secret_problems(raw: Mapping[str, Any], file: str) -> list[ConfigProblem]:
    """Secret files named in ``raw`` (paths already absolute) that are missing or readable by others.

    A disabled mailbox may name files that do not exist yet (the starter's example does).
    """
    if raw.get("enabled") is False:
        return []
    out: list[ConfigProblem] = []
    for path, key in SECRET_KEYS:
        table = _table(raw, path)
        value = table.get(key) if table is not None else None
        if not isinstance(value, str):
            continue
        name = ".".join((*path, key))
        secret = Path(value)
        if not secret.exists():
            out.append(ConfigProblem(file, name, f"secret file {secret} does not exist"))
            continue
        try:
            check_secret_file(secret, file=file, key=name)
        except ConfigError as exc:
            out.extend(exc.problems)
    return out


def cross_problems(settings: GlobalConfig, mailboxes: Sequence[MailboxBase], file: str) -> list[ConfigProblem]:
    """Keys that name each other: the mailbox the report goes out through, and its kind."""
    report = settings.report
    out: list[ConfigProblem] = []
    if report.deliver in ("imap", "gmail", "graph"):
        names = {mb.name: mb for mb in mailboxes}
        known = ", ".join(sorted(names)) or "none configured"
        if not report.mailbox:
            out.append(
                ConfigProblem(
                    file, "report.mailbox", f'deliver = "{report.deliver}" needs the mailbox to deliver through'
                )
            )
        elif report.mailbox not in names:
            out.append(ConfigProblem(file, "report.mailbox", f"no mailbox named {report.mailbox!r} (known: {known})"))
        elif names[report.mailbox].kind != report.deliver:
            kind = names[report.mailbox].kind
            out.append(
                ConfigProblem(
                    file,
                    "report.mailbox",
                    f'{report.mailbox!r} is a {kind} mailbox; deliver = "{report.deliver}" needs one of kind "{report.deliver}"',
                )
            )
    return out


def path_problems(mb: MailboxBase, file: str) -> list[ConfigProblem]:
    """Files and folders a mailbox names that are not there (`kith config check` only)."""
    if not mb.enabled:
        return []
    out: list[ConfigProblem] = []
    if isinstance(mb, MaildirMailbox) and not mb.path.is_dir():
        out.append(ConfigProblem(file, "path", f"Maildir folder {mb.path} does not exist or is not a folder"))
    if isinstance(mb, MboxMailbox) and not mb.path.exists():
        out.append(ConfigProblem(file, "path", f"mbox file or folder {mb.path} does not exist"))
    if isinstance(mb.calendar, IcsCalendar) and not mb.calendar.path.is_file():
        out.append(ConfigProblem(file, "calendar.path", f"calendar file {mb.calendar.path} does not exist"))
    for key in PATH_KEYS:
        value = getattr(mb, key, None)
        if isinstance(value, Path) and not value.exists():
            out.append(ConfigProblem(file, key, f"{value} does not exist"))
    return out


def settings_path_problems(settings: GlobalConfig, file: str) -> list[ConfigProblem]:
    """The global settings' files (`kith config check` only)."""
    smtp = settings.report.smtp
    if settings.report.deliver == "smtp" and smtp.ca_file is not None and not smtp.ca_file.exists():
        return [ConfigProblem(file, "report.smtp.ca_file", f"{smtp.ca_file} does not exist")]
    return []


__all__ = [
    "cross_problems",
    "path_problems",
    "secret_problems",
    "settings_path_problems",
]
