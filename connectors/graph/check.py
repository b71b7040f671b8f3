"""``kith check`` for Microsoft 365 / Outlook over Graph: account, permissions, folders, sizes.

Read-only and cheap: the user (``GET /me`` or ``/users/{user}``), every mail folder with its
``totalItemCount``, and for a calendar one page of one event. The permissions granted are read
from the access token's ``scp`` (delegated) or ``roles`` (app-only) claim; the token is not
verified here, only read, and a personal account's opaque token simply says nothing.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote

from kith.connectors.base import SKIPPED_BY_DEFAULT, CheckReport, Finding, FirstSync, FolderCheck, Level, Role
from kith.connectors.graph.auth import WHY, scopes_for
from kith.errors import KithError

if TYPE_CHECKING:
    from kith.connectors.graph.calendar import GraphCalendarSource
    from kith.connectors.graph.mail import GraphMailSource

#: A permission that covers another (a token granted more than kith asks for still works).
COVERS = {"Mail.ReadBasic": {"Mail.Read", "Mail.ReadWrite", "Mail.ReadBasic.All", "Mail.Read.All"}}
APP_NEEDS = ("Mail.Read", "Calendars.Read")


def granted(token: str) -> set[str] | None:
    """The permissions an Entra ID access token names (``scp`` or ``roles``); None if opaque."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    if not isinstance(claims, Mapping):
        return None
    scp, roles = claims.get("scp"), claims.get("roles")
    if isinstance(scp, str):
        return set(scp.split())
    if isinstance(roles, list):
        return {str(r) for r in roles}
    return None


def _covered(need: str, have: set[str]) -> bool:
    return need in have or bool(COVERS.get(need, set()) & have) or f"{need}.All" in have


def permission_findings(source: GraphMailSource | GraphCalendarSource) -> list[Finding]:
    mailbox = source.mailbox
    app_only = mailbox.auth == "client_credentials"
    needed = list(APP_NEEDS[: 2 if mailbox.calendar else 1]) if app_only else scopes_for(mailbox)
    have = granted(source.tokens())
    if have is None:
        return [
            Finding("permissions", "the access token does not list its permissions (a personal account?)", Level.INFO)
        ]
    missing = [n for n in needed if not _covered(n, have)]
    if missing:
        fix = (
            "an admin grants the application permission(s) "
            + ", ".join(missing)
            + " to the app registration (API permissions → Grant admin consent)"
            if app_only
            else f"run `kith auth {mailbox.name}` and consent to every permission it lists"
        )
        return [Finding("permissions", f"not granted: {', '.join(missing)}", Level.ERROR, fix)]
    out = [Finding("permissions", "granted: " + ", ".join(sorted(have)), Level.OK)]
    out += [Finding("permissions", f"{n}: {WHY[n]}", Level.INFO) for n in needed if n in WHY]
    return out


def check_mail(source: GraphMailSource) -> CheckReport:
    mailbox = source.mailbox
    client = source.client
    user = client.get(f"{source.base}?$select=displayName,mail,userPrincipalName")
    account = str(user.get("mail") or user.get("userPrincipalName") or mailbox.name)
    findings = [Finding("login", f"Microsoft Graph as {account}", Level.OK)]
    findings += permission_findings(source)
    listed = client.get(f"{source.base}/mailFolders?$top=100&$select=displayName,totalItemCount")
    by_id = {str(f.get("id")): f for f in listed.get("value") or () if isinstance(f, Mapping)}
    streams = {s.name: s for s in source.streams()}
    folders: list[FolderCheck] = []
    synced: dict[str, int] = {}
    for name, stream in streams.items():
        try:
            info = client.get(
                f"{source.base}/mailFolders/{quote(source.folder_id(name), safe='')}?$select=displayName,totalItemCount"
            )
        except KithError as exc:
            findings.append(
                Finding(
                    "folders",
                    f"folder {name!r}: {exc}",
                    Level.ERROR,
                    exc.hint or f"fix folders in mailboxes.d/{mailbox.name}.toml",
                )
            )
            continue
        by_id.pop(str(info.get("id")), None)
        synced[name] = int(info.get("totalItemCount") or 0)
        folders.append(FolderCheck(name, stream.role, synced[name]))
    for name in mailbox.folders:
        if name not in streams:
            folders.append(FolderCheck(name, None, None, "skipped role or in exclude"))
    for info in by_id.values():
        folders.append(
            FolderCheck(str(info.get("displayName")), None, int(info.get("totalItemCount") or 0), "not in folders")
        )
    if not any(s.role is Role.SENT for s in streams.values()):
        findings.append(
            Finding(
                "folders",
                "no Sent folder is synced: kith would not see your replies",
                Level.WARN,
                f'add "sentitems" to folders in mailboxes.d/{mailbox.name}.toml',
            )
        )
    items = sum(synced.values())
    pages = sum(max(1, math.ceil(n / mailbox.page_size)) for n in synced.values())
    headers = sum(n for name, n in synced.items() if streams[name].role not in (Role.SENT, *SKIPPED_BY_DEFAULT))
    requests = pages + (headers if mailbox.fetch_headers else 0)
    per_minute = (mailbox.requests_per_10_minutes or 10_000) / 10
    findings.append(
        Finding("delta", "messages/delta per folder: a poll with no change is one request a folder", Level.OK)
    )
    first = FirstSync(
        items,
        requests,
        round(requests / per_minute, 1),
        f"Outlook's {per_minute * 10:,.0f} requests per mailbox in 10 minutes",
    )
    return CheckReport("graph", account, tuple(findings), tuple(folders), first)


def check_calendar(source: GraphCalendarSource) -> CheckReport:
    now = datetime.now(UTC)
    window = f"startDateTime={now:%Y-%m-%dT%H:%M:%SZ}&endDateTime={now + timedelta(days=1):%Y-%m-%dT%H:%M:%SZ}"
    source.client.get(f"{source.base}/calendarView/delta?{window}", headers={"Prefer": "odata.maxpagesize=1"})
    findings = [Finding("calendar", "calendarView/delta answers: events sync by delta", Level.OK)]
    findings += permission_findings(source)
    return CheckReport(
        "graph calendar", source.mailbox.name, tuple(findings), (FolderCheck("Calendar", Role.CALENDAR),)
    )


__all__ = ["check_calendar", "check_mail", "granted", "permission_findings"]
