"""``kith check``: a read-only look at each configured account, before its first sync.

A source with the ``Checkable`` capability reports what it found itself (login and TLS, what the
server offers and what kith will use, folders and roles, the size of the first sync). Any other
source is checked by listing its streams. Nothing is synced, written or changed; a kith error on
the way (a refused login, a missing token, an unreachable host) becomes an ``error`` finding
whose fix is the error's hint, so one broken account does not hide the others.
"""

from __future__ import annotations

import logging
from pathlib import Path

from kith.config.mailboxes import MailboxBase
from kith.connectors.base import Checkable, CheckReport, Finding, FolderCheck, Level, Source
from kith.connectors.registry import make_calendar_source, make_source
from kith.errors import AuthError, ConfigError, KithError, TransientError

log = logging.getLogger(__name__)


def _fix_for(exc: KithError, mailbox: str) -> str:
    if exc.hint:
        return exc.hint
    if isinstance(exc, TransientError):
        return f"check the network and the host and port in mailboxes.d/{mailbox}.toml, then run `kith check` again"
    return f"see the message above; fix mailboxes.d/{mailbox}.toml, then run `kith check {mailbox}` again"


def _topic_of(exc: KithError) -> str:
    if isinstance(exc, AuthError):
        return "login"
    if isinstance(exc, ConfigError):
        return "config"
    if isinstance(exc, TransientError):
        return "connection"
    return "server"


def failed(kind: str, account: str, exc: KithError, mailbox: str) -> CheckReport:
    """The report of a check that could not go on."""
    return CheckReport(
        kind, account, findings=(Finding(_topic_of(exc), str(exc), Level.ERROR, _fix_for(exc, mailbox)),)
    )


def check_source(source: Source, *, kind: str, account: str, mailbox: str) -> CheckReport:
    """One source's report (see the module docstring); closes nothing, the caller owns ``source``."""
    try:
        if isinstance(source, Checkable):
            return source.check()
        streams = source.streams()
    except KithError as exc:
        return failed(kind, account, exc, mailbox)
    return CheckReport(
        kind,
        account,
        findings=(Finding("folders", f"{len(streams)} stream(s) to sync", Level.OK),),
        folders=tuple(FolderCheck(s.display_name or s.name, s.role) for s in streams),
    )


def check_mailbox(mailbox: MailboxBase, *, state_dir: Path) -> list[CheckReport]:
    """The reports of a configured mailbox: its mail, then its calendar if it has one."""
    reports: list[CheckReport] = []
    account = str(getattr(mailbox, "username", None) or (mailbox.addresses[0] if mailbox.addresses else mailbox.name))
    makers = [(mailbox.kind, make_source)]
    if mailbox.calendar is not None:
        makers.append((mailbox.calendar.kind + " calendar", make_calendar_source))
    for kind, make in makers:
        try:
            source = make(mailbox, state_dir=state_dir)
        except KithError as exc:
            reports.append(failed(kind, account, exc, mailbox.name))
            continue
        if source is None:  # pragma: no cover - a calendar kind always builds a source
            continue
        try:
            reports.append(check_source(source, kind=kind, account=account, mailbox=mailbox.name))
        finally:
            try:
                source.close()
            except Exception:  # closing is best effort: the report is what matters here
                log.debug("closing %s after the check failed", kind, exc_info=True)
    return reports


__all__ = ["check_mailbox", "check_source", "failed"]
