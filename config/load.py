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

from kith.config.checks import cross_problems, path_problems, secret_problems, settings_path_problems
from kith.config.mailboxes import Mailbox, MailboxBase
from kith.config.models import GlobalConfig
from kith.errors import ConfigError, ConfigProblem, UsageError

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
        """The mailbox a user named; a usage error listing the known names when there is none.

        Names that come from the config itself (``[report] mailbox``) are checked when it loads.
        """
        for mb in self.mailboxes:
            if mb.name == name:
                return mb
        known = ", ".join(m.name for m in self.mailboxes) or "none configured"
        raise UsageError(
            f"no mailbox named {name!r}; known: {known}",
            hint=f"a mailbox is a file in {self.mailboxes_dir}/ named after it",
        )

    @property
    def mailboxes_dir(self) -> Path:
        folder = self.settings.mailboxes_dir
        return folder if folder.is_absolute() or self.path is None else self.path.parent / folder

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
        elif err["type"] == "value_error":  # our own validators' words, without pydantic's prefix
            msg = msg.removeprefix("Value error, ")
        elif "input" in err and err["type"] != "assertion_error":
            msg = f"{msg} (got {err['input']!r})"
        out.append(ConfigProblem(where, key, msg))
    return out


def load_config(path: Path | None = None, *, thorough: bool = False) -> Config:
    """Read ``kith.toml`` and every ``mailboxes.d/*.toml``; raise one ``ConfigError`` listing all problems.

    ``thorough`` (`kith config check`) also checks that the files and folders named exist.
    """
    path = (path or default_config_path()).expanduser()
    problems: list[ConfigProblem] = []
    raw = _read_toml(path, problems)
    if raw is None:
        raise ConfigError(problems)
    base = path.parent.resolve()
    settings: GlobalConfig | None = None
    raw = _absolutise(raw, base)
    problems.extend(secret_problems(raw, str(path)))
    try:
        settings = GlobalConfig(**raw)
    except ValidationError as exc:
        problems.extend(_problems_from(exc, str(path), env_prefix="KITH_"))

    mailboxes: list[MailboxBase] = []
    files: dict[str, Path] = {}
    mdir = settings.mailboxes_dir if settings else base / "mailboxes.d"
    mdir = mdir if mdir.is_absolute() else base / mdir
    for mfile in sorted(mdir.glob("*.toml")) if mdir.is_dir() else []:
        mb = _load_mailbox(mfile, problems, thorough=thorough)
        if mb is not None:
            mailboxes.append(mb)
            files[mb.name] = mfile
    if settings is not None:
        problems.extend(cross_problems(settings, mailboxes, str(path)))
        if thorough:
            problems.extend(settings_path_problems(settings, str(path)))
    if problems or settings is None:
        raise ConfigError(problems)
    return Config(settings=settings, mailboxes=tuple(mailboxes), path=path, files=files)


def _load_mailbox(mfile: Path, problems: list[ConfigProblem], *, thorough: bool) -> MailboxBase | None:
    """One mailbox file; its problems (all of them: secrets too when a key is wrong) go to ``problems``."""
    data = _read_toml(mfile, problems)
    if data is None:
        return None
    name = mfile.stem
    data = _absolutise(data, mfile.parent.resolve())
    problems.extend(secret_problems(data, str(mfile)))
    if "name" in data and data["name"] != name:
        problems.append(ConfigProblem(str(mfile), "name", f"must match the file name ({name!r}) or be left out"))
        return None
    data["name"] = name
    if "kind" not in data:
        problems.append(
            ConfigProblem(str(mfile), "kind", 'required: one of "imap", "gmail", "graph", "maildir", "mbox"')
        )
        return None
    try:
        mb = _MAILBOX.validate_python(data)
    except ValidationError as exc:
        problems.extend(_problems_from(exc, str(mfile)))
        return None
    if thorough:
        problems.extend(path_problems(mb, str(mfile)))
    return mb


def parse_config_text(text: str, *, file: str = "kith.toml") -> GlobalConfig:
    """Validate global settings from TOML text (for tests and `kith config check --stdin`)."""
    try:
        return GlobalConfig(**tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([ConfigProblem(file, "", f"not valid TOML: {exc}")]) from exc
    except ValidationError as exc:
        raise ConfigError(_problems_from(exc, file, env_prefix="KITH_")) from exc


__all__ = ["Config", "default_config_path", "default_state_dir", "load_config", "parse_config_text"]
