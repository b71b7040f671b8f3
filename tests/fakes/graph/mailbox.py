"""The state behind the fake Graph mail API: folders, messages and a change sequence.

It follows the documented delta semantics the connector relies on, nothing more:

- ``GET .../mailFolders/{folder}/messages/delta`` starts a round: the folder's messages in pages
  of ``Prefer: odata.maxpagesize`` (default 10), each page but the last with an
  ``@odata.nextLink`` (``$skiptoken``), the last with an ``@odata.deltaLink`` (``$deltatoken``);
- a deltaLink returns what changed in that folder since the round it ends: changed or new
  messages in full (``$select`` fields only, from the token) and ``{"id", "@removed":
  {"reason": "deleted"}}`` for messages deleted or moved out; every round ends with a *fresh*
  deltaLink, even one that found no change (as Graph does: "Use delta query to track changes in
  Microsoft Graph data": the deltaLink of each round is the state token for the next);
- ``expire_tokens()`` makes every token issued so far answer 410 ``syncStateNotFound``;
- ids are immutable (as with ``Prefer: IdType="ImmutableId"``): a move keeps the id;
- ``sendMail`` with a MIME body (``send_mime``) keeps the decoded bytes in ``sent`` and files a
  copy in ``sentitems`` (and one in ``inbox`` when it is addressed to this user).

Change pages are ordered by change sequence, with the last (sequence, id) in the skip token, so
changes made while paging are neither skipped nor repeated within a round (a message changed
again moves past the round's end and shows up in the next round).
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import random
import threading
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser
from email.utils import format_datetime, getaddresses, parsedate_to_datetime
from typing import Any
from urllib.parse import quote

#: Graph's well-known folder names and the ids the fake gives them.
WELL_KNOWN = ("inbox", "sentitems", "archive", "junkemail", "deleteditems", "drafts")
WELL_KNOWN_NAMES = {
    "inbox": "Inbox",
    "sentitems": "Sent Items",
    "archive": "Archive",
    "junkemail": "Junk Email",
    "deleteditems": "Deleted Items",
    "drafts": "Drafts",
}
SAMPLE_FOLDERS = {
    "": "inbox",
    "Sent": "sentitems",
    "Archive": "archive",
    "Junk": "junkemail",
    "Trash": "deleteditems",
    "Drafts": "drafts",
}
DEFAULT_PAGE = 10
MAX_PAGE = 1000


class GraphError(Exception):
    """An error the fake answers with, in Graph's JSON error shape."""

    def __init__(self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "innerError": {"request-id": "fake"}}}


def encode_token(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_token(token: str) -> dict[str, Any]:
    try:
        return dict(json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))))
    except (ValueError, TypeError) as exc:
        raise GraphError(400, "BadRequest", "Invalid skip or delta token") from exc


def given_token(params: dict[str, str]) -> dict[str, Any] | None:
    """The decoded ``$skiptoken`` or ``$deltatoken`` of a delta call; None for a first call."""
    if "$skiptoken" in params:
        return decode_token(params["$skiptoken"])
    if "$deltatoken" in params:
        return decode_token(params["$deltatoken"])
    return None


def delta_page(
    tok: dict[str, Any],
    page_size: int,
    *,
    seq: int,
    min_seq: int,
    scope: dict[str, Any],
    listing: Callable[[], Iterable[Any]],
    changes: Callable[[int, int], list[tuple[int, str, Any]]],
    view: Callable[[Any], dict[str, Any]],
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One delta page: its items and the token of what follows (``{"next"|"delta": token}``).

    ``tok`` is where the call stands: ``k`` ``list`` (a full listing of ``listing()``, items with
    an ``id``, paged by id), ``delta`` (a deltaLink: start listing what changed since ``since``)
    or ``chg`` (paging through those changes: ``changes(since, at)`` gives (sequence, id, item or
    None when deleted)). ``scope`` is what every token of the round carries along (the folder,
    the window); a round that started before ``min_seq`` is gone (410).
    """
    size = max(1, min(page_size, MAX_PAGE))
    base = tok.get("at") if tok["k"] == "list" else tok.get("since")
    if int(base or 0) < min_seq:
        raise GraphError(410, "syncStateNotFound", "The sync state generation is not found.")
    if tok["k"] == "list":
        items = sorted(listing(), key=lambda x: x.id)
        items = [x for x in items if x.id > tok["after"]]
        page, more = items[:size], len(items) > size
        out = [view(x) for x in page]
        if more:
            return out, {"next": encode_token({**tok, "after": page[-1].id})}
        return out, {"delta": encode_token({"k": "delta", **scope, "since": tok["at"], "round": next(_ROUNDS)})}
    if tok["k"] == "delta":
        tok = {"k": "chg", **scope, "since": tok["since"], "at": seq, "after": [0, ""]}
    since, at, after = tok["since"], tok["at"], tuple(tok["after"])
    found = sorted((c for c in changes(since, at) if (c[0], c[1]) > after), key=lambda c: (c[0], c[1]))
    page_c, more = found[:size], len(found) > size
    out = [view(x) if x is not None else {"id": xid, "@removed": {"reason": "deleted"}} for _, xid, x in page_c]
    if more:
        last = page_c[-1]
        return out, {"next": encode_token({**tok, "after": [last[0], last[1]]})}
    return out, {"delta": encode_token({"k": "delta", **scope, "since": at, "round": next(_ROUNDS)})}


#: Numbers every deltaLink, so that each round's is a new one.
_ROUNDS = itertools.count(1)


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def email_address(address: str, name: str = "") -> dict[str, Any]:
    return {"emailAddress": {"name": name or address, "address": address}}


@dataclass
class FakeMessage:
    id: str
    folder: str
    fields: dict[str, Any]
    headers: list[tuple[str, str]]
    seq: int = 0
    last_verb: int | None = None

    def view(self, select: list[str] | None) -> dict[str, Any]:
        out = {"id": self.id}
        for name, value in self.fields.items():
            if not select or name in select:
                out[name] = value
        return out


@dataclass
class FakeMailbox:
    """One user's mail. Every method holds ``lock``: the HTTP server is threaded."""

    email: str = "me@example.com"
    messages: dict[str, FakeMessage] = field(default_factory=dict)
    #: (sequence, id, folder) of messages deleted from or moved out of a folder.
    tombstones: list[tuple[int, str, str]] = field(default_factory=list)
    seq: int = 1
    #: Tokens based on a sequence below this answer 410 ``syncStateNotFound``.
    min_seq: int = 0
    #: User-created folders: display name -> folder id (well-known names need no entry).
    folders: dict[str, str] = field(default_factory=dict)
    #: Every message ``sendMail`` accepted, as the MIME bytes it decoded from the request body.
    sent: list[bytes] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    # -- admin side ---------------------------------------------------------------------------

    def create_folder(self, name: str) -> str:
        """A top-level folder the user made; returns its id (messages are filed under the id)."""
        with self.lock:
            fid = f"AAMkFolder{len(self.folders) + 1:04d}AAA="
            self.folders[name] = fid
            return fid

    def _bump(self) -> int:
        self.seq += 1
        return self.seq

    def add(
        self,
        folder: str,
        *,
        message_id: str,
        subject: str = "hello",
        from_: tuple[str, str] = ("alice@example.com", "Alice"),
        to: list[tuple[str, str]] | None = None,
        cc: list[tuple[str, str]] | None = None,
        bcc: list[tuple[str, str]] | None = None,
        date: datetime | None = None,
        conversation: str | None = None,
        is_read: bool = False,
        headers: list[tuple[str, str]] | None = None,
        categories: list[str] | None = None,
        classification: str = "focused",
        answered: bool = False,
    ) -> str:
        """Deliver (or file) a message; returns its Graph id."""
        with self.lock:
            n = next(self._ids)
            mid = f"AAMkAD{n:07x}-k_Q="
            when = date or datetime.now(UTC)
            to = to if to is not None else [(self.email, "Me")]

            def people(items: list[tuple[str, str]] | None) -> list[dict[str, Any]]:
                return [email_address(a, nm) for a, nm in items or ()]

            fields = {
                "internetMessageId": message_id,
                "conversationId": conversation or f"AAQk{zlib.crc32(message_id.encode()):010d}",
                "subject": subject,
                "from": email_address(*from_),
                "sender": email_address(*from_),
                "toRecipients": people(to),
                "ccRecipients": people(cc),
                "bccRecipients": people(bcc),
                "replyTo": [],
                "sentDateTime": _iso(when),
                "receivedDateTime": _iso(when + timedelta(seconds=3)),
                "isRead": is_read,
                "isDraft": folder == "drafts",
                "flag": {"flagStatus": "notFlagged"},
                "inferenceClassification": classification,
                "categories": list(categories or ()),
                "bodyPreview": "Hi, thanks for your note...",
                "hasAttachments": False,
                "importance": "normal",
                "parentFolderId": folder,
                "changeKey": "CQAAAA",
                # the shape Graph gives (message resource, v1.0: "webLink: the URL to open the
                # message in Outlook on the web"): OWA's ReadMessageItem view of the item id
                "webLink": "https://outlook.office365.com/owa/?ItemID="
                + quote(mid, safe="")
                + "&exvsurl=1&viewmodel=ReadMessageItem",
            }
            raw = [
                ("Message-ID", message_id),
                ("Date", format_datetime(when)),
                ("From", f"{from_[1]} <{from_[0]}>"),
                ("To", ", ".join(a for a, _ in to)),
                ("Subject", subject),
                ("Return-Path", f"<{from_[0]}>"),
                *(headers or ()),
            ]
            msg = FakeMessage(mid, folder, fields, raw, self._bump(), 102 if answered else None)
            self.messages[mid] = msg
            return mid

    def delete(self, mid: str) -> None:
        with self.lock:
            msg = self.messages.pop(mid)
            self.tombstones.append((self._bump(), mid, msg.folder))

    def move(self, mid: str, folder: str) -> None:
        """Move to another folder; the id stays (immutable ids)."""
        with self.lock:
            msg = self.messages[mid]
            self.tombstones.append((self._bump(), mid, msg.folder))
            msg.folder = folder
            msg.fields["parentFolderId"] = folder
            msg.seq = self._bump()

    def update(self, mid: str, **fields: Any) -> None:
        """Change fields (``isRead``, ``flag``, ``categories``…): the message shows up in delta again."""
        with self.lock:
            msg = self.messages[mid]
            msg.fields.update(fields)
            msg.seq = self._bump()

    def set_answered(self, mid: str, verb: int = 102) -> None:
        with self.lock:
            self.messages[mid].last_verb = verb
            self.messages[mid].seq = self._bump()

    def expire_tokens(self) -> None:
        with self.lock:
            self.min_seq = self._bump()

    def find(self, message_id: str) -> str:
        with self.lock:
            for msg in self.messages.values():
                if msg.fields["internetMessageId"] == message_id:
                    return msg.id
        raise KeyError(message_id)

    def in_folder(self, folder: str) -> set[str]:
        with self.lock:
            return {m.id for m in self.messages.values() if m.folder == folder}

    def seed(self, n: int, *, seed: int = 1, start: datetime | None = None) -> list[str]:
        """``n`` plausible messages: 60 % inbox (some automated), 30 % sent, 10 % archive."""
        rng = random.Random(seed)
        base = start or datetime(2026, 1, 1, tzinfo=UTC)
        people = [f"person{i}@example.org" for i in range(200)]
        ids = []
        for i in range(n):
            when = base + timedelta(minutes=7 * i)
            other = rng.choice(people)
            r = rng.random()
            folder = "inbox" if r < 0.6 else "sentitems" if r < 0.9 else "archive"
            sent = folder == "sentitems"
            extra = [("List-Id", f"<news.{other.split('@')[1]}>"), ("Precedence", "bulk")] if i % 7 == 0 else []
            ids.append(
                self.add(
                    folder,
                    message_id=f"<seed{seed}.{i}@fake.test>",
                    subject=f"topic {i // 3}",
                    from_=(self.email, "Me") if sent else (other, f"Person {i}"),
                    to=[(other, "")] if sent else [(self.email, "Me")],
                    date=when,
                    conversation=f"conv{seed}.{i // 3}",
                    is_read=rng.random() < 0.8,
                    headers=None if sent else extra,
                )
            )
        return ids

    def load_world(self, world: Any, mailbox: str = "work") -> int:
        """The messages of one mailbox of a ``kith.sample`` World, in their folders."""
        count = 0
        for m in sorted(world.messages, key=lambda m: (m.date, m.message_id)):
            if m.mailbox != mailbox:
                continue
            self.add(
                SAMPLE_FOLDERS.get(m.folder, "inbox"),
                message_id=m.message_id,
                subject=m.subject,
                from_=(m.sender.address, m.sender.name),
                to=[(p.address, p.name) for p in m.to],
                cc=[(p.address, p.name) for p in m.cc],
                bcc=[(p.address, p.name) for p in m.bcc] if m.outbound else None,
                date=m.date,
                conversation=f"conv-{m.thread or m.message_id}",
                is_read=True,
                headers=[(k, v) for k, v in m.headers]
                + ([("In-Reply-To", m.in_reply_to)] if m.in_reply_to else [])
                + ([("References", " ".join(m.references))] if m.references else []),
                answered=m.answered,
                classification="other" if m.automated else "focused",
            )
            count += 1
        return count

    # -- API side -----------------------------------------------------------------------------

    def delta(self, folder: str, params: dict[str, str], page_size: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """One delta page: its items and the token of what follows (``{"next"|"delta": token}``)."""
        with self.lock:
            tok = given_token(params)
            if tok is None:
                select = [s for s in params.get("$select", "").split(",") if s]
                tok = {"k": "list", "f": folder, "at": self.seq, "after": "", "sel": select}
            if tok.get("f") != folder:
                raise GraphError(400, "BadRequest", "The token belongs to another folder")
            select = tok.get("sel") or None

            def changes(since: int, at: int) -> list[tuple[int, str, Any]]:
                live = [(m.seq, m.id, m) for m in self.messages.values() if m.folder == folder and since < m.seq <= at]
                return live + [(s, mid, None) for s, mid, f in self.tombstones if f == folder and since < s <= at]

            return delta_page(
                tok,
                page_size,
                seq=self.seq,
                min_seq=self.min_seq,
                scope={"f": folder, "sel": select},
                listing=lambda: (m for m in self.messages.values() if m.folder == folder),
                changes=changes,
                view=lambda m: m.view(select),
            )

    def send_mime(self, body: bytes) -> None:
        """``sendMail`` with ``Content-Type: text/plain``: the body is the base64 MIME message."""
        try:
            data = base64.b64decode(b"".join(body.split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise GraphError(
                400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content."
            ) from exc
        if not data:
            raise GraphError(400, "ErrorMimeContentInvalid", "The MIME content is empty.")
        msg = BytesParser(policy=policy.default).parsebytes(data, headersonly=True)
        recipients = getaddresses([str(v) for k in ("To", "Cc", "Bcc") for v in msg.get_all(k, [])])
        recipients = [(a.lower(), n) for n, a in recipients if a]
        if not recipients:
            raise GraphError(
                400, "ErrorInvalidRecipients", "A message can't be sent because it contains no recipients."
            )
        senders = getaddresses([str(msg.get("From", ""))])
        name, sender = senders[0] if senders else ("", "")
        if sender and sender.lower() != self.email.lower():
            raise GraphError(
                403,
                "ErrorSendAsDenied",
                "The user account which was used to submit this request does not have the right to send mail "
                "on behalf of the specified sending account.",
            )
        message_id = str(msg.get("Message-ID") or f"<sent{len(self.sent)}@fake.test>")
        try:
            when = parsedate_to_datetime(str(msg["Date"])) if msg["Date"] else None
        except (TypeError, ValueError):
            when = None
        extra = [("Auto-Submitted", str(msg["Auto-Submitted"]))] if msg["Auto-Submitted"] else []
        filed: dict[str, Any] = {
            "message_id": message_id,
            "subject": str(msg.get("Subject", "")),
            "from_": (self.email, name),
            "to": [(a.lower(), n) for n, a in getaddresses([str(v) for v in msg.get_all("To", [])]) if a],
            "date": when,
            "headers": extra,
        }
        with self.lock:
            self.sent.append(data)
            self.add("sentitems", is_read=True, **filed)
            if self.email.lower() in {a for a, _ in recipients}:
                self.add("inbox", **filed)

    def folder(self, fid: str) -> dict[str, Any]:
        """``GET /mailFolders/{id}``: a well-known name or a folder id, with its message count."""
        with self.lock:
            names = {**{WELL_KNOWN_NAMES[w]: w for w in WELL_KNOWN}, **self.folders}
            by_id = {v: k for k, v in names.items()}
            if fid not in by_id:
                raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
            count = sum(1 for m in self.messages.values() if m.folder == fid)
            return {"id": fid, "displayName": by_id[fid], "totalItemCount": count}

    def list_folders(self, params: dict[str, str]) -> dict[str, Any]:
        """``GET /mailFolders`` (well-known folders too, with counts); understands ``$filter=displayName
        eq '...'`` and nothing else."""
        with self.lock:
            names = {**{WELL_KNOWN_NAMES[w]: w for w in WELL_KNOWN}, **self.folders}
            items = [self.folder(fid) for fid in names.values()]
            if "$filter" in params:  # a name lookup: user folders only, as kith resolves them
                items = [{"id": fid, "displayName": name} for name, fid in self.folders.items()]
        wanted = params.get("$filter", "")
        if wanted:
            prefix = "displayName eq "
            if not wanted.startswith(prefix):
                raise GraphError(400, "ErrorInvalidUrlQueryFilter", "unsupported $filter")
            name = wanted[len(prefix) :].strip("'").replace("''", "'")
            items = [f for f in items if f["displayName"] == name]
        return {"value": items}

    def get(self, mid: str, params: dict[str, str]) -> dict[str, Any]:
        with self.lock:
            msg = self.messages.get(mid)
            if msg is None:
                raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
            select = [s for s in params.get("$select", "").split(",") if s]
            out: dict[str, Any] = {"id": mid}
            for name in select or [*msg.fields, "internetMessageHeaders"]:
                if name == "internetMessageHeaders":
                    out[name] = [{"name": n, "value": v} for n, v in msg.headers]
                elif name in msg.fields:
                    out[name] = msg.fields[name]
            if "singleValueExtendedProperties" in params.get("$expand", "") and msg.last_verb is not None:
                out["singleValueExtendedProperties"] = [{"id": "Integer 0x1081", "value": str(msg.last_verb)}]
            return out


__all__ = [
    "DEFAULT_PAGE",
    "SAMPLE_FOLDERS",
    "WELL_KNOWN",
    "FakeMailbox",
    "FakeMessage",
    "GraphError",
    "decode_token",
    "delta_page",
    "email_address",
    "encode_token",
    "given_token",
]
