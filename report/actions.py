"""Links on every flag: open it in mail, and act on it from the report (issue 27).

Each report item (and each flag of ``kith flags --json``) gets:

- ``open_url``: the message itself for a message-level flag (``kith.report.links.open_url``:
  Gmail's ``rfc822msgid:`` search in that account, Graph's ``webLink``, else RFC 2392 ``mid:``);
  for a person-level flag (pull back, broadcast only, reconnect), a new message to them
  (``mailto:``), with ``thread_url`` opening the last message we exchanged when there is one;
- ``actions``: *Done*, *Snooze 1 week*, *Snooze 1 month*, each a ``mailto:`` link to my own
  address whose subject is a signed command (``kith.analysis.commands``), and, when
  ``[web] public_url`` is set, a signed https link to the same action on the web app (its page
  asks to confirm; only the POST acts).

The links are plain URLs: nothing is fetched when the report is opened (no tracking, no remote
image), and the text part carries the same ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection

from kith.analysis.commands import KEY_FILE, Action, mailto, sign
from kith.config.load import Config
from kith.config.secrets import state_key
from kith.report.links import compose_url, mid_url, open_url
from kith.report.sections import MessageWhere, is_gmail
from kith.store.commands import flag_identities
from kith.store.links import Copy, copies, last_messages
from kith.store.models import utcnow


def own_address(config: Config, recipient: str | None = None) -> str | None:
    """Where a command goes: the report's recipient when it is one of mine (so it lands in a
    mailbox kith reads), else my first address."""
    mine = config.my_addresses
    if recipient and recipient.lower() in mine:
        return recipient
    first = [*config.settings.me.addresses, *(a for mb in config.mailboxes for a in mb.addresses)]
    return first[0] if first else None


def best_url(found: Sequence[Copy], accounts: Mapping[str, str | None]) -> str | None:
    """The URL of the copy that links best: Gmail first (one search finds it anywhere), then a
    Graph copy with its ``webLink``, then any (its ``mid:``)."""
    if not found:
        return None

    def where(c: Copy) -> MessageWhere:
        mid = c.key if c.key.startswith("<") else None
        return MessageWhere(mid, c.kind, c.thread_id, tuple(c.streams), tuple(c.labels), c.provider_key)

    def rank(c: Copy) -> int:
        return 0 if is_gmail(where(c)) else 1 if c.web_link else 2

    for c in sorted(found, key=rank):
        url = open_url(where(c), c.web_link, accounts.get(c.mailbox))
        if url:
            return url
    return None


class Linker:
    """Makes the links of many flags with one key, one clock and two queries."""

    def __init__(self, conn: Connection, config: Config, now: datetime, *, recipient: str | None = None) -> None:
        self.conn, self.config, self.now = conn, config, now
        settings = config.settings.actions
        self.to = own_address(config, recipient) if settings.enabled else None
        # from the end of the report's UTC day: the same report built twice signs the same links
        day_end = datetime.combine(now.astimezone(UTC).date(), time(0), UTC) + timedelta(days=1)
        self.expires = day_end + settings.expire_after
        self.public_url = config.settings.web.public_url
        self.accounts = {mb.name: (mb.addresses[0] if mb.addresses else None) for mb in config.mailboxes}
        self._key: bytes | None = None
        self.identities: dict[int, str] = {}

    def key(self) -> bytes:
        if self._key is None:
            self._key = state_key(self.config.state_dir, KEY_FILE)
        return self._key

    def know(self, flag_ids: Iterable[int | None]) -> None:
        """Look up the stable keys of these flags (one query): each token is signed over its flag's."""
        self.identities.update(flag_identities(self.conn, (int(f) for f in flag_ids if f is not None)))

    def actions(self, flag_id: int | None) -> list[dict[str, str | None]]:
        if flag_id is None or self.to is None:
            return []
        if int(flag_id) not in self.identities:
            self.know([flag_id])
        identity = self.identities.get(int(flag_id))
        if identity is None:  # gone meanwhile: nothing to act on
            return []
        out: list[dict[str, str | None]] = []
        for action in Action:
            token = sign(self.key(), int(flag_id), action, self.expires, identity)
            web = f"{self.public_url}/act/{flag_id}/{action.slug}/{token}" if self.public_url else None
            out.append({"label": action.label, "mailto": mailto(self.to, int(flag_id), action, token), "web": web})
        return out

    def open_links(
        self, flags: Iterable[tuple[str, str | None]]
    ) -> dict[tuple[str, str | None], dict[str, str | None]]:
        """(address, message id) -> {open_url, thread_url}. A flag with a message id is about
        that message (unanswered); one without is about the person."""
        flags = list(flags)
        people = [a for a, mid in flags if not mid]
        last = last_messages(self.conn, people) if people else {}
        keys = [mid for _a, mid in flags if mid] + list(last.values())
        found = copies(self.conn, keys) if keys else {}
        out: dict[tuple[str, str | None], dict[str, str | None]] = {}
        for address, mid in flags:
            if mid:
                # no stored copy (deleted since): its Message-ID still finds it in a mail program
                url = best_url(found.get(mid, []), self.accounts) or (mid_url(mid) if mid.startswith("<") else None)
                out[(address, mid)] = {"open_url": url, "thread_url": None}
            else:
                thread = best_url(found.get(last.get(address, ""), []), self.accounts)
                out[(address, mid)] = {"open_url": compose_url(address), "thread_url": thread}
        return out


def decorate_sections(
    conn: Connection, config: Config, sections: list[dict[str, Any]], now: datetime, *, recipient: str | None
) -> None:
    """Add ``open_url``, ``thread_url`` and ``actions`` to every shown item of the report."""
    linker = Linker(conn, config, now, recipient=recipient)
    items = [i for s in sections for i in s["items"]]
    links = linker.open_links((i["contact"]["address"], i.get("message_id")) for i in items)
    if linker.to is not None:
        linker.know(i.get("flag_id") for i in items)
    for item in items:
        item.update(links[(item["contact"]["address"], item.get("message_id"))])
        item["actions"] = linker.actions(item.get("flag_id"))


def decorate_flags(conn: Connection, config: Config, flags: list[dict[str, Any]]) -> None:
    """``kith flags --json``: every flag's ``open_url`` (and ``thread_url``)."""
    links = Linker(conn, config, utcnow()).open_links((f["contact"]["address"], f.get("message_id")) for f in flags)
    for flag in flags:
        flag.update(links[(flag["contact"]["address"], flag.get("message_id"))])


def without_actions(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` (a built report) with every item's signed links left out: for storing it."""
    sections = [
        {**s, "items": [{k: v for k, v in i.items() if k != "actions"} for i in s["items"]]}
        for s in data.get("sections", [])
    ]
    return {**data, "sections": sections}


__all__ = ["without_actions", "Linker", "best_url", "decorate_flags", "decorate_sections", "own_address"]
