"""One error tree for all of kith.

::

    KithError                      anything kith itself decided was wrong
    ├── ConfigError                bad or missing configuration; carries every problem found,
    │                              each with file and key, so the user fixes them in one pass
    ├── AuthError                  credentials refused or expired: stop that mailbox, report it,
    │                              never retry in a loop (the fix is ``kith auth MAILBOX``)
    ├── TransientError             network trouble, throttling, 5xx: retry with backoff and
    │                              jitter; ``retry_after`` carries the server's hint (seconds)
    ├── UsageError                 the command line asked for what cannot be: an unknown mailbox,
    │                              a date in the past, ``init`` over existing files (exit 64)
    ├── CursorExpired              the provider forgot our sync position (UIDVALIDITY change,
    │                              Gmail 404 history, Graph 410): resync that stream from scratch
    ├── BadRecord                  one message or event could not be parsed: keep what parsed,
    │                              record the problem, go on
    ├── StoreError                 the database refused something (schema too new, lock lost,
    │   │                          disk full, server gone)
    │   └── UnusableDatabase       the database cannot be read at all (corrupt, not a database,
    │                              unreadable): restarting will not help
    └── ServiceError               `kith service` cannot install or remove the systemd unit as asked

Connectors turn their library's exceptions into these at the boundary (``map_errors`` context
managers, ``raise ... from exc``) so that the sync engine only ever catches kith errors plus one
last catch-all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class KithError(Exception):
    """Base of every error kith raises on purpose."""

    #: What the user should do about it; shown by the CLI under the message.
    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong in the configuration: where it is and what is wrong."""

    file: str
    key: str
    message: str

    def __str__(self) -> str:
        # a problem found outside any file (an environment variable, a cross-check) has no file:
        # it must not print as ": key: message"
        where = ": ".join(part for part in (self.file, self.key) if part)
        return f"{where}: {self.message}" if where else self.message


class ConfigError(KithError):
    """The configuration cannot be used; ``problems`` lists every problem found at once."""

    hint = "fix the file and key named above, then run `kith config check`"

    def __init__(self, problems: Iterable[ConfigProblem] | str, *, hint: str | None = None) -> None:
        if isinstance(problems, str):
            problems = [ConfigProblem("", "", problems)]
        self.problems: list[ConfigProblem] = list(problems)
        lines = [str(p) for p in self.problems]
        head = lines[0] if len(lines) == 1 else f"{len(lines)} configuration problems:\n  " + "\n  ".join(lines)
        super().__init__(head, hint=hint)


class UsageError(KithError):
    """The command line asked for something that cannot be done (``EX_USAGE``, exit 64).

    Not a configuration error: the config is fine and ``kith config check`` would not help. The
    message names the argument or option and what it accepts.
    """


class AuthError(KithError):
    """The provider refused our credentials; retrying will not help."""

    def __init__(self, message: str, *, mailbox: str | None = None, hint: str | None = None) -> None:
        self.mailbox = mailbox
        if hint is None and mailbox:
            hint = f"run `kith auth {mailbox}` (or fix the password source in its config file)"
        super().__init__(message, hint=hint)


class TransientError(KithError):
    """A failure worth retrying later (network, throttling, server errors)."""

    def __init__(self, message: str, *, retry_after: float | None = None, hint: str | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message, hint=hint)


class CursorExpired(KithError):
    """The stored sync position is no longer valid; the stream must be resynced from scratch."""


class BadRecord(KithError):
    """One record could not be parsed; the rest of the mailbox goes on."""

    def __init__(self, message: str, *, provider_key: str | None = None) -> None:
        self.provider_key = provider_key
        super().__init__(message)


class StoreError(KithError):
    """The database cannot be used as it is."""


class UnusableDatabase(StoreError):
    """The database file is corrupt, not a database, or unreadable: a restart cannot fix it."""


class ServiceError(KithError):
    """The systemd unit cannot be installed or removed as asked (permissions, a kith systemd cannot see)."""


__all__ = [
    "AuthError",
    "BadRecord",
    "ConfigError",
    "ConfigProblem",
    "CursorExpired",
    "KithError",
    "ServiceError",
    "StoreError",
    "TransientError",
    "UnusableDatabase",
    "UsageError",
]
