"""``kith check`` for an IMAP account: login and TLS, capabilities, folders, first-sync size.

Read-only: LOGIN, CAPABILITY, LIST, one STATUS (MESSAGES) per selectable folder and one NOOP to
time a round trip; nothing is selected, so not even ``\\Recent`` changes.
"""

from __future__ import annotations

import math
import ssl
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from kith.connectors.base import SKIPPED_BY_DEFAULT, CheckReport, Finding, FirstSync, FolderCheck, Level, Role
from kith.connectors.imap.folders import SKIP_ATTRS, Folder, role_of, select_streams
from kith.connectors.imap.wire import peer_certificate

if TYPE_CHECKING:
    from kith.connectors.imap.source import ImapSource

#: A certificate expiring sooner than this is worth a warning.
CERT_WARNING = timedelta(days=14)
#: What each capability gives kith, said to the user.
USES = {
    "QRESYNC": "flag changes and expunges since the last sync in one command (RFC 7162)",
    "CONDSTORE": "flag changes since the last sync by modification sequence (RFC 7162)",
    "IDLE": "new mail in INBOX is pushed, no waiting for the next poll",
    "SPECIAL-USE": "the server names its Sent, Archive, Junk, Trash and Drafts folders (RFC 6154)",
    "X-GM-EXT-1": "Gmail: only All Mail is synced, labels come with each message",
    "NOTIFY": "offered; kith does not use it (it IDLEs on INBOX)",
}


def check(source: ImapSource) -> CheckReport:
    mailbox = source.mailbox
    name = mailbox.name
    findings: list[Finding] = []
    session = source.session()  # a refused login or TLS failure raises: the caller reports it
    client = session.client
    transport = {"implicit": "TLS", "starttls": "STARTTLS", "none": "no encryption"}[mailbox.tls]
    findings.append(
        Finding(
            "login",
            f"logged in as {mailbox.username} at {mailbox.host}:{mailbox.effective_port} ({transport})",
            Level.OK,
        )
    )
    findings += _tls(client, mailbox.tls, mailbox.verify_tls, name)
    caps = {c.decode().upper() if isinstance(c, bytes) else str(c).upper() for c in client.capabilities()}
    findings += _capabilities(caps, session.condstore, session.qresync, mailbox.use_condstore)
    source.streams()  # lists the folders (and asks for SPECIAL-USE where the server needs it)
    folders = list(source.folders)
    streams = {s.name: s for s in select_streams(folders, mailbox, gmail=session.gmail)}
    checks: list[FolderCheck] = []
    counts: dict[str, int] = {}
    for folder in folders:
        count = None
        if not folder.attrs & SKIP_ATTRS:
            status = client.folder_status(folder.name, ["MESSAGES"])
            count = int(status.get(b"MESSAGES", 0))
            counts[folder.name] = count
        stream = streams.get(folder.name)
        role = stream.role if stream else (None if folder.attrs & SKIP_ATTRS else role_of(folder, mailbox.roles))
        reason = None if stream else _skip_reason(folder, source, role, gmail=session.gmail)
        checks.append(FolderCheck(folder.name, role, count, reason))
    missing = sorted(set(mailbox.folders) - {f.name for f in folders})
    if missing:
        findings.append(
            Finding(
                "folders",
                f"configured folder(s) not on the server: {', '.join(missing)}",
                Level.ERROR,
                f"fix folders in mailboxes.d/{name}.toml (the server has: {', '.join(f.name for f in folders)})",
            )
        )
    roles = {s.role for s in streams.values()}
    if Role.SENT not in roles and Role.ALL not in roles:
        findings.append(
            Finding(
                "folders",
                "no Sent folder found: kith would not see your replies, and every message would look unanswered",
                Level.WARN,
                f'name it in mailboxes.d/{name}.toml: roles = {{ "Your Sent Folder" = "sent" }}',
            )
        )
    for alert in source.alerts:
        findings.append(
            Finding(
                "server", f"the server says: {alert}", Level.WARN, "read the server's message; it is about your account"
            )
        )
    rtt = _round_trip(client)
    items = sum(counts.get(s, 0) for s in streams)
    requests = sum(2 + math.ceil(counts.get(s, 0) / mailbox.batch_size) for s in streams)
    first = FirstSync(
        items, requests, round(requests * rtt / 60, 2), f"{requests} round trips of {rtt * 1000:.0f} ms at least"
    )
    return CheckReport(mailbox.kind, mailbox.username, tuple(findings), tuple(checks), first)


def _tls(client: Any, tls: str, verify: bool, name: str) -> list[Finding]:
    if tls == "none":
        return [
            Finding(
                "tls",
                "plaintext connection (allowed for a loopback host only)",
                Level.WARN,
                f'set tls = "implicit" (port 993) in mailboxes.d/{name}.toml for any real server',
            )
        ]
    cert, version = peer_certificate(client)
    out: list[Finding] = []
    if not verify:
        out.append(
            Finding(
                "tls",
                "the server's certificate is not verified (verify_tls = false)",
                Level.WARN,
                f"set ca_file to the CA that signed it and verify_tls = true in mailboxes.d/{name}.toml",
            )
        )
    if not cert:
        return [*out, Finding("tls", f"{version or 'TLS'}; certificate not inspected", Level.INFO)]
    subject = ", ".join(f"{k}={v}" for rdn in cert.get("subject", ()) for k, v in rdn)
    expires = datetime.fromtimestamp(ssl.cert_time_to_seconds(cert["notAfter"]), UTC) if cert.get("notAfter") else None
    out.append(
        Finding(
            "tls",
            f"{version}; certificate {subject or '?'}, valid until {expires:%Y-%m-%d}"
            if expires
            else f"{version}; certificate {subject}",
            Level.OK,
        )
    )
    if expires is not None and expires - datetime.now(UTC) < CERT_WARNING:
        out.append(
            Finding(
                "tls",
                f"the server's certificate expires on {expires:%Y-%m-%d}",
                Level.WARN,
                "ask the provider (or your admin) to renew it; kith refuses an expired certificate",
            )
        )
    return out


def _capabilities(caps: set[str], condstore: bool, qresync: bool, use: bool) -> list[Finding]:
    offered = [c for c in USES if c in caps]
    out = [Finding("capabilities", "offered: " + (", ".join(offered) or "none of " + ", ".join(USES)), Level.INFO)]
    for cap in offered:
        used = (
            (cap == "QRESYNC" and qresync)
            or (cap == "CONDSTORE" and condstore and not qresync)
            or cap
            not in (
                "QRESYNC",
                "CONDSTORE",
            )
        )
        if used:
            out.append(Finding("capabilities", f"{cap}: {USES[cap]}", Level.OK))
    if not condstore:
        why = "use_condstore = false" if ("CONDSTORE" in caps or "QRESYNC" in caps) and not use else "not offered"
        out.append(
            Finding(
                "capabilities",
                f"no CONDSTORE ({why}): flag changes (answered, flagged) are seen for the newest 500 messages of a folder only",
                Level.WARN,
                "enable CONDSTORE/QRESYNC on the server (or remove use_condstore = false); meanwhile "
                "`kith sync --full` now and then catches older changes",
            )
        )
    if "IDLE" not in caps:
        out.append(Finding("capabilities", "no IDLE: new mail is seen at the next poll", Level.INFO))
    return out


def _skip_reason(folder: Folder, source: ImapSource, role: Role | None, *, gmail: bool) -> str:
    mailbox = source.mailbox
    if folder.attrs & SKIP_ATTRS:
        return "not selectable (a container or a virtual view)"
    if folder.name in mailbox.exclude:
        return "in exclude"
    if gmail:
        return "Gmail: only All Mail is synced (labels come with each message)"
    if mailbox.folders and folder.name not in mailbox.folders:
        return "not in folders"
    if role in SKIPPED_BY_DEFAULT:
        return f'{role} is not an interaction (include_roles = ["{role}"] syncs it)'
    return "skipped"


def _round_trip(client: Any) -> float:
    start = time.monotonic()
    client.noop()
    return max(time.monotonic() - start, 0.001)


__all__ = ["CERT_WARNING", "USES", "check"]
