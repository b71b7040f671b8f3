"""Find, read and validate the configuration once, reporting every problem at once.

The result is a frozen ``Config``: the global settings plus one model per mailbox file. Relative
paths in any file are taken relative to the file that holds them, so a config folder can move.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from kith.config.mailboxes import Mailbox, MailboxBase, PasswordFields
from kith.config.models import GlobalConfig
from kith.config.secrets import check_secret_file
from kith.errors import ConfigError, ConfigProblem

_MAILBOX = TypeAdapter(Mailbox)
_PATH_KEYS = {
    "path",
    "password_file",
    "client_secrets_file",
    "token_file",
    "service_account_file",
    "client_secret_file",
    "token_cache",
    "ca_file",
    "output_dir",
    "mailboxes_dir",
    "state_dir",
    "tls_cert",
    "tls_key",
}


@dataclass(frozen=True)
class Config:
    """Everything kith was configured with, validated."""

    settings: GlobalConfig
    mailboxes: tuple[MailboxBase, ...] = ()
    path: Path | None = None
    files: Mapping[str, Path] = field(default_factory=dict)

    def mailbox(self, name: str) -> MailboxBase:
        for mb in self.mailboxes:
            if mb.name == name:
                return mb
        known = ", ".join(m.name for m in self.mailboxes) or "none configured"
        raise ConfigError(f"no mailbox named {name!r} (known: {known})")

    @property
    def state_dir(self) -> Path:
        return default_state_dir(self.settings)

    @property
    def my_addresses(self) -> frozenset[str]:
        found = set(self.settings.me.addresses)
        for mb in self.mailboxes:
            found.update(mb.addresses)
        return frozenset(found)


def default_config_path() -> Path:
    """``--config`` beats ``$KITH_CONFIG``; then the unit's ``ConfigurationDirectory=``; then the
    user's file; then the system one.

    The units written by ``kith service install`` name no config path: systemd tells the
    service where its config is (``$CONFIGURATION_DIRECTORY``), and that wins over a user file.
    """
    env = os.environ.get("KITH_CONFIG")
    if env:
        return Path(env)
    if os.environ.get("CONFIGURATION_DIRECTORY"):  # systemd ConfigurationDirectory=
        return Path(os.environ["CONFIGURATION_DIRECTORY"].split(":")[0]) / "kith.toml"
    xdg = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    user = xdg / "kith" / "kith.toml"
    if user.exists():
        return user
    system = Path("/etc/kith/kith.toml")
    return system if system.exists() else user


def default_state_dir(settings: GlobalConfig) -> Path:
    if settings.state_dir:
        return settings.state_dir
    if os.environ.get("STATE_DIRECTORY"):  # systemd StateDirectory=
        return Path(os.environ["STATE_DIRECTORY"].split(":")[0])
    xdg = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return xdg / "kith"


def _read_toml(path: Path, problems: list[ConfigProblem]) -> dict[str, Any] | None:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        problems.append(ConfigProblem(str(path), "", "file not found; run `kith init` to write a starter config"))
    except tomllib.TOMLDecodeError as exc:
        problems.append(ConfigProblem(str(path), "", f"not valid TOML: {exc}"))
    except OSError as exc:
        problems.append(ConfigProblem(str(path), "", f"cannot read: {exc.strerror}"))
    return None


def _absolutise(data: Any, base: Path) -> Any:
    """Make path-valued keys absolute relative to the file's folder (and expand ``~``)."""
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            if key in _PATH_KEYS and isinstance(value, str):
                p = Path(value).expanduser()
                out[key] = str(p if p.is_absolute() else (base / p).resolve())
            else:
                out[key] = _absolutise(value, base)
        return out
    return data


def _problems_from(exc: ValidationError, file: str, env_prefix: str | None = None) -> list[ConfigProblem]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"] if not str(p).endswith("Mailbox") and not str(p).endswith("Calendar")]
        # discriminated unions put the tag in loc ('imap'); drop it so the key reads naturally
        loc = [p for p in loc if p not in {"imap", "gmail", "graph", "maildir", "mbox", "ics", "caldav", "google"}]
        key = ".".join(loc)
        where = file
        if env_prefix:
            env_name = env_prefix + "__".join(p.upper() for p in loc)
            if env_name in {k.upper() for k in os.environ}:
                where = f"environment {env_name}"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; `kith init` writes every key with a comment)"
        elif err["type"] == "missing":
            msg = "required key is missing"
        elif "input" in err and err["type"] not in {"value_error", "assertion_error"}:
            msg = f"{msg} (got {err['input']!r})"
        out.append(ConfigProblem(where, key, msg))
    return out


def load_config(path: Path | None = None) -> Config:
    """Read ``kith.toml`` and every ``mailboxes.d/*.toml``; raise one ``ConfigError`` listing all problems."""
    path = (path or default_config_path()).expanduser()
    problems: list[ConfigProblem] = []
    raw = _read_toml(path, problems)
    if raw is None:
        raise ConfigError(problems)
    base = path.parent.resolve()
    settings: GlobalConfig | None = None
    try:
        settings = GlobalConfig(**_absolutise(raw, base))
    except ValidationError as exc:
        problems.extend(_problems_from(exc, str(path), env_prefix="KITH_"))

    mailboxes: list[MailboxBase] = []
    files: dict[str, Path] = {}
    mdir = settings.mailboxes_dir if settings else base / "mailboxes.d"
    mdir = mdir if mdir.is_absolute() else base / mdir
    for mfile in sorted(mdir.glob("*.toml")) if mdir.is_dir() else []:
        data = _read_toml(mfile, problems)
        if data is None:
            continue
        name = mfile.stem
        data = _absolutise(data, mfile.parent.resolve())
        if "name" in data and data["name"] != name:
            problems.append(ConfigProblem(str(mfile), "name", f"must match the file name ({name!r}) or be left out"))
            continue
        data["name"] = name
        if "kind" not in data:
            problems.append(
                ConfigProblem(str(mfile), "kind", 'required: one of "imap", "gmail", "graph", "maildir", "mbox"')
            )
            continue
        try:
            mb = _MAILBOX.validate_python(data)
        except ValidationError as exc:
            problems.extend(_problems_from(exc, str(mfile)))
            continue
        if mb.enabled:  # a disabled example may name files that do not exist yet
            problems.extend(_check_secret_files(mb, str(mfile)))
        mailboxes.append(mb)
        files[name] = mfile
    if problems or settings is None:
        raise ConfigError(problems)
    return Config(settings=settings, mailboxes=tuple(mailboxes), path=path, files=files)


def _check_secret_files(mb: MailboxBase, file: str) -> list[ConfigProblem]:
    out: list[ConfigProblem] = []
    holders: list[tuple[str, Any]] = [("", mb)]
    if mb.calendar is not None:
        holders.append(("calendar.", mb.calendar))
    for prefix, holder in holders:
        if isinstance(holder, PasswordFields) and holder.password_file is not None:
            key = prefix + "password_file"
            if not holder.password_file.exists():
                out.append(ConfigProblem(file, key, f"secret file {holder.password_file} does not exist"))
                continue
            try:
                check_secret_file(holder.password_file, file=file, key=key)
            except ConfigError as exc:
                out.extend(exc.problems)
    return out


def parse_config_text(text: str, *, file: str = "kith.toml") -> GlobalConfig:
    """Validate global settings from TOML text (for tests and `kith config check --stdin`)."""
    try:
        return GlobalConfig(**tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([ConfigProblem(file, "", f"not valid TOML: {exc}")]) from exc
    except ValidationError as exc:
        raise ConfigError(_problems_from(exc, file, env_prefix="KITH_")) from exc


__all__ = ["Config", "default_config_path", "default_state_dir", "load_config", "parse_config_text"]
