"""``kith check`` for Gmail and Google Calendar: the account, granted scopes, history, sizes.

Read-only and cheap: ``getProfile`` (1 unit), one ``history.list`` page (2), ``labels.get`` of
the three labels kith leaves out (1 each), and per calendar one ``events.list`` of one event.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from kith.connectors.base import CheckReport, Finding, FirstSync, FolderCheck, Level, Role
from kith.connectors.gmail.auth import GOOGLE_SCOPE, WHY, missing_scopes, scopes_for
from kith.connectors.gmail.client import BATCH, TESTING_LIFETIME
from kith.connectors.gmail.records import EXCLUDED_LABELS
from kith.errors import CursorExpired, KithError

if TYPE_CHECKING:
    from kith.connectors.gmail.calendar import GoogleCalendarSource
    from kith.connectors.gmail.mail import GmailSource

LIST_PAGE = 500
#: The labels kith leaves out, and the role each would have.
LEFT_OUT = {"SPAM": Role.JUNK, "TRASH": Role.TRASH, "DRAFT": Role.DRAFTS}
#: Quota units of the first sync per message (messages.get) and per listing page (messages.list).
UNITS_PER_MESSAGE, UNITS_PER_PAGE = 5, 5


def _short(scope: str) -> str:
    return scope.removeprefix(GOOGLE_SCOPE)


def scope_findings(name: str, credentials: Any, tokens: Any, needed: list[str]) -> list[Finding]:
    """Granted against needed scopes, and the 7-day Testing-status trap for a user's token."""
    out: list[Finding] = []
    if getattr(credentials, "service_account_email", None):
        return [
            Finding(
                "scopes", f"service account with domain-wide delegation for: {', '.join(map(_short, needed))}", Level.OK
            )
        ]
    granted = set(getattr(credentials, "scopes", None) or ())
    missing = missing_scopes(needed, granted) if granted else []
    if missing:
        out.append(
            Finding(
                "scopes",
                f"the token lacks {', '.join(map(_short, missing))}",
                Level.ERROR,
                f"run `kith auth {name}` and allow every permission it lists",
            )
        )
    elif granted:
        out.append(Finding("scopes", "granted: " + ", ".join(sorted(map(_short, granted))), Level.OK))
    extra = sorted(granted - set(needed))
    if extra:
        out.append(
            Finding(
                "scopes",
                f"the token also carries {', '.join(map(_short, extra))}, more than kith needs",
                Level.WARN,
                f"run `kith auth {name}` again: it asks only for {', '.join(map(_short, needed))}",
            )
        )
    consented = tokens.consented
    if consented is not None:
        age = datetime.now(UTC) - consented
        if age > TESTING_LIFETIME:
            out.append(
                Finding(
                    "oauth", f"granted {age.days} days ago and still valid: the OAuth client is published", Level.OK
                )
            )
        else:
            dies = consented + TESTING_LIFETIME
            out.append(
                Finding(
                    "oauth",
                    f"granted on {consented:%Y-%m-%d}; if the OAuth client is in Testing status, "
                    f"this grant stops working on {dies:%Y-%m-%d} (refresh tokens expire after 7 days)",
                    Level.WARN,
                    "publish the app: Google Cloud console → OAuth consent screen → Publish app "
                    "(skip this if it is published already or an Internal Workspace app)",
                )
            )
    return out


def check_mail(source: GmailSource) -> CheckReport:
    mailbox = source.mailbox
    client, api = source.client, source.api
    profile = client.execute(api.getProfile(userId=source.user), units=1)
    account = str(profile.get("emailAddress") or mailbox.name)
    total = int(profile.get("messagesTotal") or 0)
    findings = [Finding("login", f"Gmail API as {account}: {total:,} messages", Level.OK)]
    findings += scope_findings(mailbox.name, client.credentials, source.tokens, scopes_for(mailbox))
    findings.append(Finding("scopes", f"gmail.metadata: {WHY[GOOGLE_SCOPE + 'gmail.metadata']}", Level.INFO))
    try:
        client.execute(
            api.history().list(userId=source.user, startHistoryId=str(profile["historyId"]), maxResults=1),
            units=2,
            expired_on=(404,),
        )
        findings.append(Finding("history", "history works: a poll with no change costs one request", Level.OK))
    except CursorExpired:
        findings.append(
            Finding("history", "Gmail refused its own history id", Level.WARN, "run `kith check` again in a minute")
        )
    folders = [FolderCheck("All Mail", Role.ALL, None)]
    left_out = 0
    for label in sorted(EXCLUDED_LABELS):  # SPAM, TRASH, DRAFT
        try:
            info = client.execute(api.labels().get(userId=source.user, id=label), units=1)
            count = int(info.get("messagesTotal") or 0)
        except KithError:
            count = None
        left_out += count or 0
        folders.append(
            FolderCheck(label.title(), LEFT_OUT[label], count, "Spam, Trash and Drafts are not interactions")
        )
    items = max(0, total - left_out)
    folders[0] = FolderCheck("All Mail", Role.ALL, items)
    pages = max(1, math.ceil(items / LIST_PAGE))
    requests = 1 + pages + math.ceil(items / BATCH) + 1
    units = 1 + pages * UNITS_PER_PAGE + items * UNITS_PER_MESSAGE + 2
    rate = mailbox.quota_units_per_second or 250.0
    minutes = round(units / rate / 60, 1)
    first = FirstSync(items, requests, minutes, f"{units:,} quota units at {rate:g} a second")
    return CheckReport("gmail", account, tuple(findings), tuple(folders), first)


def check_calendar(source: GoogleCalendarSource) -> CheckReport:
    findings: list[Finding] = []
    folders: list[FolderCheck] = []
    for stream in source.streams():
        cid = stream.display_name
        try:
            source.client.execute(source.events.list(calendarId=cid, maxResults=1, singleEvents=True))
        except KithError as exc:
            findings.append(
                Finding(
                    "calendar",
                    f"calendar {cid!r}: {exc}",
                    Level.ERROR,
                    exc.hint or f"fix calendar_ids in mailboxes.d/{source.mailbox.name}.toml",
                )
            )
            folders.append(FolderCheck(cid, Role.CALENDAR, None, "unreachable"))
            continue
        folders.append(FolderCheck(cid, Role.CALENDAR, None))
    readable = sum(1 for f in folders if f.skipped is None)
    findings.insert(
        0, Finding("calendar", f"{readable} calendar(s) readable; Google Calendar always offers sync tokens", Level.OK)
    )
    window = source.calendar.window_past + source.calendar.window_future
    findings.append(
        Finding("calendar", f"events from {window.days} days around today (window_past, window_future)", Level.INFO)
    )
    return CheckReport("google calendar", source.mailbox.name, tuple(findings), tuple(folders))


__all__ = ["check_calendar", "check_mail", "scope_findings"]
