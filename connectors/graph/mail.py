"""Microsoft Graph mail: one stream per folder, each synced with ``messages/delta``.

**Why per folder.** Graph's message delta works on one mail folder at a time (there is no
mailbox-wide delta for messages), so each configured folder (well-known names ``inbox``,
``sentitems``, ``archive``… or folder ids) is a stream with its own deltaLink cursor. A poll with
nothing new costs exactly one request per folder. ``Prefer: IdType="ImmutableId"`` keeps a
message's id when it moves between folders, so a move is an ``@removed`` in one stream and an
add in the other, and the store sees one message (it keys messages by Message-ID anyway).

**Paging and crashes.** The first request asks for ``$select`` of just the record's fields and
``Prefer: odata.maxpagesize``; Graph answers pages linked by ``@odata.nextLink`` and ends with an
``@odata.deltaLink``. Each page is one ``Batch``: its cursor is the nextLink while paging (a
crash resumes the paging right there) and the deltaLink only on the last page, so the deltaLink
is never stored before every page before it has landed. A later pull starts from the deltaLink
and gets only the changes; ``@removed`` items become deletions. 410 Gone / ``syncStateNotFound``
is ``CursorExpired``: the engine pulls again from scratch.

**Resync without duplicates or ghosts.** A full listing (the initial round) tags every record
it upserts with a listing generation (the ``versions`` marker, ``GEN:``); the generation is kept
in the paging cursor, so it survives a crash. On the last page, what the store holds for the
stream but was not tagged by this generation is deleted: after an expired delta token the stream
ends up exactly as Graph lists it.

**Raw headers.** Delta cannot return ``internetMessageHeaders``; List-Id, List-Unsubscribe,
Precedence and Auto-Submitted are what the automated-sender rules need, and only mail *from
others* can carry them. So only messages from others in non-sent folders get a second look, in
``$batch`` requests of 20 ``GET /messages/{id}?$select=internetMessageHeaders`` (with
PidTagLastVerbExecuted for ``\\Answered``). ``stats`` counts what that costs.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from kith.config.mailboxes import GraphMailbox
from kith.connectors.base import (
    JSON,
    SKIPPED_BY_DEFAULT,
    BaseSource,
    Batch,
    CheckReport,
    Known,
    MessageRecord,
    Problem,
    Role,
    Stream,
    no_known,
)
from kith.connectors.graph.client import WINDOW_SECONDS, GraphClient, RetryPolicy, TokenProvider
from kith.connectors.graph.delta import delta_batches, start_url
from kith.connectors.graph.records import LAST_VERB, MESSAGE_FIELDS, message_record, with_headers
from kith.connectors.retry import WindowBudget
from kith.connectors.roles import role_for_name
from kith.errors import BadRecord, ConfigError

log = logging.getLogger(__name__)

#: Graph's well-known folder names and the role each plays.
FOLDER_ROLES: dict[str, Role] = {
    "inbox": Role.INBOX,
    "sentitems": Role.SENT,
    "archive": Role.ARCHIVE,
    "junkemail": Role.JUNK,
    "deleteditems": Role.TRASH,
    "drafts": Role.DRAFTS,
    "outbox": Role.DRAFTS,
}
#: Roles whose mail from others may be automated, hence worth the header fetch.
HEADER_ROLES = frozenset({Role.INBOX, Role.ARCHIVE, Role.ALL, Role.OTHER})
EXTRAS_QUERY = "$select=internetMessageHeaders&$expand=" + quote(
    f"singleValueExtendedProperties($filter=id eq '{LAST_VERB}')", safe="()$='"
)
IMMUTABLE = 'IdType="ImmutableId"'


def mail_base(mailbox: GraphMailbox) -> str:
    """``/me`` for a signed-in user; ``/users/{user}`` for app-only access (which has no "me")."""
    if mailbox.auth == "client_credentials":
        if not mailbox.user:
            raise ConfigError(f"{mailbox.name}: user: app-only (client_credentials) access needs the mailbox's user")
        return f"/users/{quote(mailbox.user, safe='@')}"
    return f"/users/{quote(mailbox.user, safe='@')}" if mailbox.user else "/me"


def request_budget(
    mailbox: GraphMailbox, *, clock: Callable[[], float] | None = None, sleep: Callable[[float], None] | None = None
) -> WindowBudget:
    """Paces requests under Outlook's 10,000 per mailbox in any 10 minutes (``WindowBudget``)."""
    kwargs: dict[str, Any] = {}
    if clock is not None:
        kwargs["clock"] = clock
    if sleep is not None:
        kwargs["sleep"] = sleep
    return WindowBudget(mailbox.requests_per_10_minutes, WINDOW_SECONDS, **kwargs)


class GraphSource(BaseSource):
    """What the mail and calendar sources share: token provider, client, user path, stats."""

    def __init__(
        self,
        mailbox: GraphMailbox,
        *,
        state_dir: Path,
        token: TokenProvider | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.mailbox = mailbox
        if token is None:
            from kith.connectors.graph.auth import MsalTokens

            token = MsalTokens(mailbox, state_dir)
        self.tokens = token
        self.client = GraphClient(
            token,
            mailbox=mailbox.name,
            endpoint=mailbox.api_endpoint,
            retry=retry,
            transport=transport,
            budget=request_budget(mailbox, clock=clock, sleep=retry.sleep if retry else None),
        )
        self.base = mail_base(mailbox)
        self.stats: Counter[str] = Counter()

    def close(self) -> None:
        self.client.close()
        persist = getattr(self.tokens, "persist", None)
        if persist is not None:
            persist()


class GraphMailSource(GraphSource):
    def __init__(
        self,
        mailbox: GraphMailbox,
        *,
        state_dir: Path,
        token: TokenProvider | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        fetch_headers: bool = True,
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(mailbox, state_dir=state_dir, token=token, retry=retry, transport=transport, clock=clock)
        self.me = frozenset(mailbox.addresses)
        self.fetch_headers = fetch_headers
        #: Shown by ``kith status`` (the engine collects ``alerts`` from every source).
        self.alerts: list[str] = []

    def streams(self) -> list[Stream]:
        out = []
        for folder in self.mailbox.folders:
            if folder in self.mailbox.exclude:
                continue
            if folder in self.mailbox.roles:
                role = Role(self.mailbox.roles[folder])
            else:
                role = FOLDER_ROLES.get(folder.lower()) or role_for_name(folder)
            if role in SKIPPED_BY_DEFAULT and role.value not in self.mailbox.include_roles:
                continue
            out.append(Stream(name=folder, role=role, display_name=folder))
        return out

    def _prefer(self) -> dict[str, str]:
        return {"Prefer": f"odata.maxpagesize={self.mailbox.page_size}, {IMMUTABLE}"}

    def folder_id(self, folder: str) -> str:
        """A well-known name or folder id as it is; a display name looked up (top-level folders).

        Only a full listing needs this: the deltaLink of later pulls already names the folder.
        """
        if folder.lower() in FOLDER_ROLES or (len(folder) > 40 and " " not in folder):
            return folder
        name = folder.replace("'", "''")
        found = self.client.get(
            f"{self.base}/mailFolders?$filter=" + quote(f"displayName eq '{name}'", safe="=$'") + "&$select=id"
        )
        ids = [f["id"] for f in found.get("value") or () if isinstance(f, Mapping) and f.get("id")]
        if not ids:
            raise ConfigError(f"{self.mailbox.name}: folders: Graph has no top-level mail folder named {folder!r}")
        return str(ids[0])

    def first_url(self, folder: str) -> str:
        fid = quote(self.folder_id(folder), safe="")
        return f"{self.base}/mailFolders/{fid}/messages/delta?$select={','.join(MESSAGE_FIELDS)}"

    def pull(self, stream: Stream, cursor: JSON | None, known: Known = no_known) -> Iterator[Batch]:
        url, gen = start_url(cursor, lambda: self.first_url(stream.name))
        if cursor is None:
            log.info("%s/%s: full listing (generation %s)", self.mailbox.name, stream.name, gen)

        def convert(live: dict[str, Mapping[str, Any]]) -> tuple[list[MessageRecord], list[str], list[Problem]]:
            records: list[MessageRecord] = []
            problems: list[Problem] = []
            for mid, item in live.items():
                try:
                    records.append(message_record(item))
                except BadRecord as exc:
                    problems.append(Problem(mid, str(exc)))
            records, gone, failed = self._with_headers(stream, records)
            return records, gone, problems + failed

        yield from delta_batches(
            self.client,
            url,
            gen,
            known,
            convert,
            headers=self._prefer(),
            what=f"{self.mailbox.name}/{stream.name}",
            stats=self.stats,
        )

    def check(self) -> CheckReport:
        """``kith check``: account, granted permissions, folders and the first sync's size (read-only)."""
        from kith.connectors.graph.check import check_mail

        return check_mail(self)

    def _wants_headers(self, stream: Stream, rec: MessageRecord) -> bool:
        return stream.role in HEADER_ROLES and rec.from_ is not None and rec.from_.address not in self.me

    def _with_headers(
        self, stream: Stream, records: list[MessageRecord]
    ) -> tuple[list[MessageRecord], list[str], list[Problem]]:
        """Raw headers for mail from others, through ``$batch``; returns records, gone ids, problems."""
        wanted = [r.provider_key for r in records if self.fetch_headers and self._wants_headers(stream, r)]
        if not wanted:
            return records, [], []
        calls = {mid: f"{self.base}/messages/{quote(mid, safe='')}?{EXTRAS_QUERY}" for mid in wanted}
        before = self.client.batch_requests
        outcome = self.client.batch(calls, headers={"Prefer": IMMUTABLE})
        self.stats["header_batches"] += self.client.batch_requests - before
        self.stats["header_calls"] += len(wanted)
        if outcome.forbidden:  # the app may read mail but not its headers: say so once, go on
            self.fetch_headers = False
            self.alerts.append(
                "Graph refused the raw-header fetch (403), so newsletters are recognised by sender only; "
                "grant Mail.Read (delegated) or Mail.Read (application) instead of Mail.ReadBasic"
            )
            log.warning("%s: %s", self.mailbox.name, self.alerts[-1])
        out: list[MessageRecord] = []
        problems: list[Problem] = []
        for rec in records:
            key = rec.provider_key
            if key in outcome.missing:
                continue  # deleted since the page was read: the next delta says so too
            if key in outcome.results:
                rec = with_headers(rec, outcome.results[key])
            elif key in outcome.failed and key not in outcome.forbidden:
                problems.append(Problem(key, f"raw headers unavailable: {outcome.failed[key]}"))
            out.append(rec)
        return out, sorted(outcome.missing), problems


__all__ = ["FOLDER_ROLES", "HEADER_ROLES", "GraphMailSource", "GraphSource", "mail_base", "request_budget"]
