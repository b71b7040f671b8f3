"""``kith check`` for a CalDAV account: login, the calendars found, and whether sync-token works.

Read-only: the principal's calendar list, one Depth-1 PROPFIND of etags per calendar (the event
count), and one initial ``sync-collection`` REPORT (no token) to learn whether the server
answers it; a server that will not is used by ctag + etags, which the report says.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from kith.connectors.base import CheckReport, Finding, FirstSync, FolderCheck, Level, Role

if TYPE_CHECKING:
    from kith.connectors.caldav import CaldavSource


def check(source: CaldavSource) -> CheckReport:
    calendar = source.calendar
    streams = source.streams()  # a refused login raises AuthError: the caller reports it with its fix
    findings = [Finding("login", f"logged in at {calendar.url} as {calendar.username or '(no user)'}", Level.OK)]
    if calendar.url.startswith("http://"):
        findings.append(
            Finding(
                "tls",
                "plain http: the password and your calendar cross the network unencrypted",
                Level.WARN,
                f"use the server's https:// address in calendar.url of mailboxes.d/{source.mailbox.name}.toml",
            )
        )
    if not calendar.verify_tls:
        findings.append(
            Finding(
                "tls",
                "the certificate is not verified (verify_tls = false)",
                Level.WARN,
                "install the server's CA and remove verify_tls = false",
            )
        )
    folders: list[FolderCheck] = []
    items = requests = 0
    for stream in streams:
        count, token = source.describe(stream)
        how = "sync-token (RFC 6578)" if token else "ctag + etags (the server refuses sync-collection)"
        findings.append(Finding("calendar", f"{stream.display_name}: {count} object(s), changes by {how}", Level.OK))
        folders.append(FolderCheck(stream.display_name, Role.CALENDAR, count))
        items += count
        requests += 2 + math.ceil(count / source.batch_size)
    if not streams:
        findings.append(
            Finding(
                "calendar",
                "no calendar found for this login",
                Level.ERROR,
                "check calendar.url (the account's CalDAV address) and calendar.calendars",
            )
        )
    return CheckReport(
        "caldav calendar",
        calendar.username or calendar.url,
        tuple(findings),
        tuple(folders),
        FirstSync(items, requests, round(requests * 0.2 / 60, 1), "round trips; a CalDAV server sets no quota"),
    )


__all__ = ["check"]
