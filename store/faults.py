"""Telling a record the database refuses from a database that is not there, and saying either in
one line that carries no one's data.

When a batch fails to apply, the sync engine must know whether one of its records is at fault
(split the batch, skip that record, go on) or the database is (stop, keep the cursor, retry
later). Treating an outage as bad records would skip good mail; treating a bad record as an
outage blocks the stream forever. So only errors about a *value* count as the record's fault:
the driver refusing to encode it (a lone surrogate), PostgreSQL refusing it (a NUL, a string
too long, a number out of range), a constraint it breaks. Losing the connection, a locked or
full or corrupt database, a timeout, are the database's.
"""

from __future__ import annotations

from sqlalchemy import exc as sa

from kith.errors import StoreError, UnusableDatabase

#: Errors about the connection or the database itself, never about one value.
_DATABASE = (sa.OperationalError, sa.InterfaceError, sa.DisconnectionError, sa.TimeoutError, sa.InternalError)


def record_fault(exc: BaseException) -> bool:
    """True when ``exc`` says a value of the batch cannot be stored (not that the database is away)."""
    if isinstance(exc, _DATABASE):
        return False
    if isinstance(exc, sa.DBAPIError):
        return isinstance(exc, sa.DataError | sa.IntegrityError | sa.ProgrammingError)
    if isinstance(exc, sa.StatementError):  # a bind processor refused a value (not from the driver)
        return exc.orig is None or record_fault(exc.orig)
    return isinstance(exc, UnicodeError | ValueError | TypeError | OverflowError)


def describe(exc: BaseException) -> str:
    """One line: the error's class and the database's or driver's words, never the SQL statement
    or its parameters (other people's addresses and subjects)."""
    inner: BaseException = exc
    if isinstance(exc, sa.StatementError) and exc.orig is not None:
        inner = exc.orig
    text = str(inner).strip().splitlines()
    return f"{type(inner).__name__}: {text[0][:300] if text else ''}".rstrip(": ")


#: The database's words for a file it cannot use at all (SQLite's, and the OS's through it).
_UNUSABLE = (
    "file is not a database",
    "database disk image is malformed",
    "unable to open database file",
    "attempt to write a readonly database",
    "disk i/o error",
    "permission denied",
)
_FULL = ("database or disk is full", "no space left on device", "could not extend file")


def as_store_error(exc: BaseException, where: str) -> StoreError | None:
    """The one-line ``StoreError`` for a database error (None for anything else), naming the
    database (``where``: its path, or its URL with the password masked) and what to do:

    - a file that is corrupt, not a database or unreadable: ``UnusableDatabase`` (exit 74, which
      the units do not restart on: restarting cannot fix it);
    - a full disk, a server gone, a lock held too long: ``StoreError`` (worth trying again).
    """
    if isinstance(exc, StoreError):
        return exc
    if not isinstance(exc, sa.DBAPIError):
        return None
    text = describe(exc)
    low = text.lower()
    if any(words in low for words in _UNUSABLE):
        return UnusableDatabase(
            f"the database {where} cannot be used: {text}",
            hint="check its owner and mode; if it is corrupt, restore it from a backup, or move it away and run "
            "`kith sync --full` to build a new one from the mailboxes",
        )
    if any(words in low for words in _FULL):
        return StoreError(
            f"the database {where} is full: {text}", hint="free disk space there, then run the command again"
        )
    return StoreError(
        f"the database {where} failed: {text}", hint="check that it is reachable, then run the command again"
    )


__all__ = ["as_store_error", "describe", "record_fault"]
