"""Secret indirection: config files name where a secret lives, never the secret itself.

A secret comes from exactly one of: a file (``password_file``; must not be readable by group or
others), a command (``password_command``; its stdout, first line), or a systemd credential
(``password_credential``: a name under ``$CREDENTIALS_DIRECTORY``, see ``LoadCredential=``).
Values are read when a connector needs them and are never logged, printed or stored.
"""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
from pathlib import Path

from pydantic import BaseModel, ConfigDict, model_validator

from kith.errors import AuthError, ConfigError, ConfigProblem


class SecretRef(BaseModel):
    """Where one secret lives. Printing it shows the source, never the value."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    file: Path | None = None
    command: str | None = None
    credential: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        given = [n for n in ("file", "command", "credential") if getattr(self, n)]
        if len(given) > 1:
            raise ValueError(f"give only one of file, command, credential (got {', '.join(given)})")
        return self

    @property
    def empty(self) -> bool:
        return not (self.file or self.command or self.credential)

    def describe(self) -> str:
        if self.file:
            return f"file {self.file}"
        if self.command:
            return f"command `{self.command.split()[0]} …`"
        if self.credential:
            return f"systemd credential {self.credential}"
        return "(none)"

    def resolve(self) -> str:
        """Read the secret now. Raises ``AuthError`` naming the source (not the value)."""
        if self.file:
            return read_secret_file(self.file)
        if self.command:
            try:
                out = subprocess.run(shlex.split(self.command), capture_output=True, text=True, timeout=30, check=True)
            except (OSError, subprocess.SubprocessError) as exc:
                raise AuthError(f"password command failed: {type(exc).__name__}") from exc
            return out.stdout.splitlines()[0] if out.stdout else ""
        if self.credential:
            base = os.environ.get("CREDENTIALS_DIRECTORY")
            if not base:
                raise AuthError(
                    f"credential {self.credential!r} asked for but $CREDENTIALS_DIRECTORY is not set",
                    hint="add LoadCredential= to the systemd unit, or use password_file",
                )
            return read_secret_file(Path(base) / self.credential, check_mode=False)
        raise AuthError("no secret configured", hint="set password_file, password_command or password_credential")


def read_secret_file(path: Path, *, check_mode: bool = True) -> str:
    try:
        if check_mode:
            check_secret_file(path)
        return path.read_text(encoding="utf-8").strip("\r\n")
    except OSError as exc:
        raise AuthError(f"cannot read secret file {path}: {exc.strerror}") from exc
    except ConfigError as exc:
        raise AuthError(str(exc), hint=f"chmod 600 {path}") from exc


def check_secret_file(path: Path, *, file: str = "", key: str = "") -> None:
    """Refuse secret files that other users can read."""
    st = path.stat()
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            [
                ConfigProblem(
                    file,
                    key,
                    f"secret file {path} is readable by others (mode {stat.S_IMODE(st.st_mode):o}); run chmod 600 {path}",
                )
            ]
        )


def write_private(path: Path, data: str | bytes) -> None:
    """Write a token or secret file atomically with mode 0600 from the first byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode() if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def make_private(path: Path, *, directory: bool = False) -> bool:
    """Take group and other permissions away from an existing file (0600) or directory (0700)
    that kith owns; True when it had to (the caller says so in a warning). What kith stores
    (who writes to whom, when) is for its owner alone."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if not mode & 0o077:
            return False
        os.chmod(path, 0o700 if directory else 0o600)
    except OSError:  # gone, or not ours to change: nothing kith can do about it here
        return False
    return True


def state_key(state_dir: Path, name: str, *, size: int = 32) -> bytes:
    """A random key kept in the state directory (0600 in a 0700 folder), made on first use.

    Made once even when two processes (the daemon, ``kith report``) ask at the same moment: the
    new key is written aside and hard-linked into place, which fails if another got there first,
    and then everybody reads the one that landed. A key that changed under a signer would make
    every link it had signed look forged."""
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    make_private(state_dir, directory=True)
    path = state_dir / name
    if not path.exists():
        tmp = path.with_name(f".{name}.{os.urandom(8).hex()}")  # unique per caller, threads too
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as fh:
            fh.write(os.urandom(size).hex())
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    make_private(path)
    raw = path.read_text().strip()
    if len(raw) < 2 * size:
        raise ConfigError(f"{path}: the key is shorter than {size} bytes; delete the file to make a new one")
    return raw.encode()


#: The umask of every kith process (CLI and daemon): new files 0600, new directories 0700.
PRIVATE_UMASK = 0o077


__all__ = [
    "PRIVATE_UMASK",
    "SecretRef",
    "check_secret_file",
    "make_private",
    "read_secret_file",
    "state_key",
    "write_private",
]
