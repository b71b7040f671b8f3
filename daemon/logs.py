"""Logging for the daemon: journald-friendly under systemd, timestamped on a terminal.

journald stamps every line itself and reads a leading ``<N>`` as the syslog priority, so under
journald (``$JOURNAL_STREAM`` names the device:inode of our stderr) lines carry ``<N>`` and no
time; elsewhere they carry a timestamp and the level name. The worker thread's name (the
mailbox being synced) is part of every line, so a journal filtered by text finds one mailbox.
Every line is redacted (``kith.config.redact``) and the loggers of libraries that log secrets at
DEBUG stay at WARNING.
"""

from __future__ import annotations

import logging
import os
import sys

from kith.config.redact import NOISY_LOGGERS, redact

#: Python level -> syslog priority (sd-daemon(3)).
PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}
#: Held at WARNING at any verbosity (see ``kith.config.redact``).
NOISY = NOISY_LOGGERS


class RedactingFormatter(logging.Formatter):
    """Every line (message, arguments and traceback alike) passes ``kith.config.redact``: the
    second line of defence when a library logs a token or a URL with a password."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def hold_noisy(level: int) -> None:
    """Third-party loggers at WARNING whatever ``level`` is: at DEBUG they log request bodies."""
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))


def under_journald(stream: object = None) -> bool:
    """True when ``stream`` (default stderr) is the journal stream systemd connected us to."""
    value = os.environ.get("JOURNAL_STREAM")
    if not value:
        return False
    stream = sys.stderr if stream is None else stream
    try:
        dev, ino = (int(x) for x in value.split(":", 1))
    except ValueError:
        return True  # set but unreadable: trust it rather than stamp every line twice
    try:
        st = os.fstat(stream.fileno())  # type: ignore[union-attr]
    except (OSError, ValueError, AttributeError):
        return False  # not a real file (a test, a pipe wrapper): not the journal
    return (st.st_dev, st.st_ino) == (dev, ino)


class JournalFormatter(RedactingFormatter):
    """``<N>logger [thread]: message``; tracebacks are indented on the following lines."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        prio = PRIORITY.get(record.levelno, 6)
        return "\n".join(f"<{prio}>{line}" for line in text.splitlines() or [""])


def configure(verbose: int = 0, quiet: bool = False, *, stream: object = None) -> bool:
    """Install the daemon's handler on the root logger; returns whether journald format is used."""
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    stream = sys.stderr if stream is None else stream
    journal = under_journald(stream)
    handler = logging.StreamHandler(stream)  # type: ignore[arg-type]
    if journal:
        handler.setFormatter(JournalFormatter("%(name)s [%(threadName)s]: %(message)s"))
    else:
        handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s [%(threadName)s]: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    hold_noisy(level)
    return journal


__all__ = ["NOISY", "JournalFormatter", "RedactingFormatter", "configure", "hold_noisy", "under_journald"]
