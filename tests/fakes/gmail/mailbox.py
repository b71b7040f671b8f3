"""The state behind the fake Gmail API: messages, labels and the change history of one user.

It follows the documented behaviour the connector relies on, nothing more:

- ``users.messages.list`` returns ``{id, threadId}`` newest first, ``maxResults`` (default 100,
  at most 500) per page, ``nextPageToken`` while more remain; SPAM and TRASH only with
  ``includeSpamTrash``; ``labelIds`` must all match; ``q`` understands ``in:``/``label:`` terms
  and their negations (enough for ``-in:drafts``).
- ``users.messages.get`` with ``format=metadata`` returns only the ``metadataHeaders`` asked for,
  matched by exact name (the stricter reading of the reference, "only include headers
  specified"): ``Message-Id`` does not return a ``Message-ID`` field.
- ``users.messages.send`` takes ``{"raw": base64url RFC 822}``, refuses a message without
  recipients, keeps the bytes in ``sent`` and files the message under SENT (plus INBOX and UNREAD
  when it is addressed to this user, as Gmail does with mail to oneself);
- every change gets a new history id; ``users.history.list`` returns the records after
  ``startHistoryId`` filtered by ``historyTypes``, and answers 404 once that id is older than the
  retained history (``expire_history``). Two surprises real Gmail has are switchable:
  ``empty_history_pages`` answers that many pages with ``nextPageToken`` and no ``history`` at
  all (gauteh/lieer issues #22 and #24: "no 'history' record returned, even though several
  pages were indicated"), and ``history_label_ids = False`` sends history message objects with
  only ``id`` and ``threadId`` (the users.history.list reference: "Any messages contained in the
  response will typically only have id and threadId fields populated").

Page tokens encode the sort key of the last item returned, so deleting or adding messages
between two pages neither skips nor repeats a message (as with the real service).
"""

from __future__ import annotations

import base64
import itertools
import random
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.parser import BytesParser
from email.policy import compat32
from email.utils import format_datetime, getaddresses
from typing import Any

SYSTEM_LABELS = (
    "INBOX",
    "SENT",
    "DRAFT",
    "SPAM",
    "TRASH",
    "UNREAD",
    "STARRED",
    "IMPORTANT",
    "CATEGORY_PERSONAL",
    "CATEGORY_SOCIAL",
    "CATEGORY_PROMOTIONS",
    "CATEGORY_UPDATES",
    "CATEGORY_FORUMS",
)
HISTORY_TYPES = ("messageAdded", "messageDeleted", "labelAdded", "labelRemoved")


class ApiError(Exception):
    """An error the fake answers with, in Google's JSON error shape."""

    STATUS_NAMES = {
        400: "INVALID_ARGUMENT",
        401: "UNAUTHENTICATED",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        410: "GONE",
        429: "RESOURCE_EXHAUSTED",
        500: "INTERNAL",
        503: "UNAVAILABLE",
    }

    def __init__(self, status: int, reason: str, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        domain = "usageLimits" if self.reason.endswith("RateLimitExceeded") or "rateLimit" in self.reason else "global"
        return {
            "error": {
                "code": self.status,
                "message": self.message,
                "errors": [{"message": self.message, "domain": domain, "reason": self.reason}],
                "status": self.STATUS_NAMES.get(self.status, "UNKNOWN"),
            }
        }


@dataclass
class FakeMessage:
    id: str
    thread_id: str
    labels: set[str]
    headers: list[tuple[str, str]]
    internal_date: int  # ms since the epoch
    size: int
    history_id: int = 0

    def sort_key(self) -> tuple[int, str]:
        return (self.internal_date, self.id)

    def ref(self, *, labels: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "threadId": self.thread_id}
        if labels:
            out["labelIds"] = sorted(self.labels)
        return out


@dataclass
class HistoryRecord:
    id: int
    kind: str  # one of HISTORY_TYPES
    message: dict[str, Any]
    label_ids: tuple[str, ...] = ()

    def as_json(self, *, label_ids: bool = True) -> dict[str, Any]:
        bare = {k: self.message[k] for k in ("id", "threadId")}
        message = self.message if label_ids else bare
        out: dict[str, Any] = {"id": str(self.id), "messages": [bare]}
        if self.kind == "messageAdded":
            out["messagesAdded"] = [{"message": message}]
        elif self.kind == "messageDeleted":
            out["messagesDeleted"] = [{"message": message}]
        elif self.kind == "labelAdded":
            out["labelsAdded"] = [{"message": message, "labelIds": list(self.label_ids)}]
        else:
            out["labelsRemoved"] = [{"message": message, "labelIds": list(self.label_ids)}]
        return out


def _token(key: tuple[int, str]) -> str:
    return base64.urlsafe_b64encode(f"{key[0]}:{key[1]}".encode()).decode()


def _untoken(token: str) -> tuple[int, str]:
    try:
        ms, _, mid = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        return int(ms), mid
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalidArgument", "Invalid pageToken") from exc


@dataclass
class FakeMailbox:
    """One user's mailbox. All methods hold ``lock``: the HTTP server is threaded."""

    email: str = "me@example.com"
    messages: dict[str, FakeMessage] = field(default_factory=dict)
    history: list[HistoryRecord] = field(default_factory=list)
    history_id: int = 1000
    #: The oldest start id history.list still accepts; ``expire_history`` raises it.
    min_history_id: int = 0
    #: Every message ``users.messages.send`` accepted, as the bytes it decoded from ``raw``.
    sent: list[bytes] = field(default_factory=list)
    #: Pages of ``history.list`` still to answer with a ``nextPageToken`` and no ``history``.
    empty_history_pages: int = 0
    #: False: history message objects carry only ``id`` and ``threadId`` (no ``labelIds``).
    history_label_ids: bool = True
    lock: threading.RLock = field(default_factory=threading.RLock)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(0x18C0000000000000))

    # -- admin side (what the tests and the harness do to the mailbox) -------------------------

    def _record(self, kind: str, msg: FakeMessage, label_ids: tuple[str, ...] = ()) -> None:
        self.history_id += 1
        msg.history_id = self.history_id
        snap = msg.ref(labels=kind != "messageDeleted")
        self.history.append(HistoryRecord(self.history_id, kind, snap, label_ids))

    def add_message(
        self,
        headers: list[tuple[str, str]] | dict[str, str],
        *,
        labels: tuple[str, ...] | set[str] = ("INBOX", "UNREAD"),
        thread_id: str | None = None,
        internal_date: datetime | None = None,
        size: int = 2048,
        record: bool = True,
    ) -> str:
        """Deliver a message; returns its Gmail id. ``record=False`` seeds without history."""
        with self.lock:
            mid = format(next(self._ids), "x")
            items = list(headers.items()) if isinstance(headers, dict) else list(headers)
            when = internal_date or datetime.now(UTC)
            msg = FakeMessage(
                id=mid,
                thread_id=thread_id or mid,
                labels=set(labels),
                headers=items,
                internal_date=int(when.timestamp() * 1000),
                size=size,
            )
            self.messages[mid] = msg
            if record:
                self._record("messageAdded", msg)
            else:
                self.history_id += 1
                msg.history_id = self.history_id
            return mid

    def delete_message(self, mid: str) -> None:
        """Permanent deletion (users.messages.delete): a messageDeleted history record."""
        with self.lock:
            msg = self.messages.pop(mid)
            self._record("messageDeleted", msg)

    def modify_labels(self, mid: str, *, add: tuple[str, ...] = (), remove: tuple[str, ...] = ()) -> None:
        """users.messages.modify: one labelAdded and/or one labelRemoved record."""
        with self.lock:
            msg = self.messages[mid]
            added = tuple(lab for lab in add if lab not in msg.labels)
            removed = tuple(lab for lab in remove if lab in msg.labels)
            if added:
                msg.labels |= set(added)
                self._record("labelAdded", msg, added)
            if removed:
                msg.labels -= set(removed)
                self._record("labelRemoved", msg, removed)

    def expire_history(self) -> None:
        """Forget every history record so far: any stored start id now gets 404."""
        with self.lock:
            self.history_id += 1
            self.min_history_id = self.history_id
            self.history.clear()

    def find(self, header: str, value: str) -> str:
        """The id of the message whose ``header`` equals ``value`` (tests look up by Message-ID)."""
        with self.lock:
            for msg in self.messages.values():
                if any(n.lower() == header.lower() and v == value for n, v in msg.headers):
                    return msg.id
        raise KeyError(value)

    def seed(self, n: int, *, seed: int = 1, start: datetime | None = None) -> list[str]:
        """``n`` plausible messages (mixed senders, threads, categories), without history records."""
        rng = random.Random(seed)
        base = start or datetime(2025, 1, 1, tzinfo=UTC)
        people = [f"person{i}@example.org" for i in range(200)]
        ids = []
        for i in range(n):
            when = base + timedelta(minutes=7 * i + rng.randint(0, 5))
            sent = rng.random() < 0.3
            other = rng.choice(people)
            labels = (
                {"SENT"}
                if sent
                else {"INBOX", rng.choice(("CATEGORY_PERSONAL", "CATEGORY_UPDATES", "CATEGORY_PROMOTIONS"))}
            )
            if not sent and rng.random() < 0.2:
                labels.add("UNREAD")
            headers = [
                ("Message-ID", f"<seed{seed}.{i}@fake.test>"),
                ("Date", format_datetime(when)),
                ("From", self.email if sent else f"Person {other.split('@')[0]} <{other}>"),
                ("To", other if sent else self.email),
                ("Subject", f"topic {i // 3}"),
            ]
            if i % 3:
                headers.append(("In-Reply-To", f"<seed{seed}.{i - 1}@fake.test>"))
            if "CATEGORY_PROMOTIONS" in labels:
                headers.append(("List-Unsubscribe", f"<mailto:unsub@{other.split('@')[1]}>"))
            ids.append(
                self.add_message(
                    headers,
                    labels=labels,
                    thread_id=f"t{seed}.{i // 3}",
                    internal_date=when,
                    size=1000 + i % 5000,
                    record=False,
                )
            )
        return ids

    # -- API side ---------------------------------------------------------------------------

    def profile(self) -> dict[str, Any]:
        with self.lock:
            return {
                "emailAddress": self.email,
                "messagesTotal": len(self.messages),
                "threadsTotal": len({m.thread_id for m in self.messages.values()}),
                "historyId": str(self.history_id),
            }

    def list_messages(self, params: dict[str, list[str]]) -> dict[str, Any]:
        max_results = min(int(_one(params, "maxResults", "100")), 500)
        include_spam_trash = _one(params, "includeSpamTrash", "false") == "true"
        want = set(params.get("labelIds", []))
        terms = _parse_q(_one(params, "q", ""))
        token = _one(params, "pageToken", "")
        with self.lock:
            items = sorted(self.messages.values(), key=FakeMessage.sort_key, reverse=True)
            if token:
                after = _untoken(token)
                items = [m for m in items if m.sort_key() < after]
            out: list[FakeMessage] = []
            more = False
            for msg in items:
                if not include_spam_trash and msg.labels & {"SPAM", "TRASH"}:
                    continue
                if not want <= msg.labels or not all((lab in msg.labels) == keep for lab, keep in terms):
                    continue
                if len(out) == max_results:
                    more = True
                    break
                out.append(msg)
        body: dict[str, Any] = {"resultSizeEstimate": len(out)}
        if out:
            body["messages"] = [m.ref(labels=False) for m in out]
        if more:
            body["nextPageToken"] = _token(out[-1].sort_key())
        return body

    def get_message(self, mid: str, params: dict[str, list[str]]) -> dict[str, Any]:
        fmt = _one(params, "format", "full")
        wanted = set(params.get("metadataHeaders", []))
        with self.lock:
            msg = self.messages.get(mid)
            if msg is None:
                raise ApiError(404, "notFound", "Requested entity was not found.")
            body: dict[str, Any] = {
                **msg.ref(),
                "snippet": "",
                "historyId": str(msg.history_id),
                "internalDate": str(msg.internal_date),
                "sizeEstimate": msg.size,
            }
            if fmt in ("metadata", "full"):
                headers = [{"name": n, "value": v} for n, v in msg.headers if not wanted or n in wanted]
                body["payload"] = {"partId": "", "mimeType": "text/plain", "filename": "", "headers": headers}
        return body

    def list_history(self, params: dict[str, list[str]]) -> dict[str, Any]:
        start_raw = _one(params, "startHistoryId", "")
        if not start_raw.isdigit():
            raise ApiError(400, "invalidArgument", "Missing or invalid startHistoryId")
        start = int(start_raw)
        types = set(params.get("historyTypes", [])) or set(HISTORY_TYPES)
        label = _one(params, "labelId", "")
        max_results = min(int(_one(params, "maxResults", "100")), 500)
        offset = int(_one(params, "pageToken", "0") or 0)
        with self.lock:
            if start < self.min_history_id:
                raise ApiError(404, "notFound", "Requested entity was not found.")
            if self.empty_history_pages > 0:
                self.empty_history_pages -= 1
                return {"historyId": str(self.history_id), "nextPageToken": str(offset)}
            records = [
                r
                for r in self.history
                if r.id > start and r.kind in types and (not label or label in r.message.get("labelIds", []))
            ]
            page = records[offset : offset + max_results]
            body: dict[str, Any] = {"historyId": str(self.history_id)}
        if page:
            body["history"] = [r.as_json(label_ids=self.history_label_ids) for r in page]
        if offset + max_results < len(records):
            body["nextPageToken"] = str(offset + max_results)
        return body

    def send_message(self, body: dict[str, Any]) -> dict[str, Any]:
        """``users.messages.send`` with a ``raw`` message: keep it, file it, return its reference."""
        raw = body.get("raw")
        if not isinstance(raw, str) or not raw:
            raise ApiError(
                400,
                "invalidArgument",
                "'raw' RFC822 payload message string or uploading message via /upload/* URL required",
            )
        if not _BASE64URL.match(raw):  # Gmail wants base64url ("-" and "_"), not the standard alphabet
            raise ApiError(400, "invalidArgument", "Invalid value for ByteString: " + raw[:20])
        data = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        msg = BytesParser(policy=compat32).parsebytes(data, headersonly=True)
        headers = [(name, re.sub(r"\r?\n", "", str(value))) for name, value in msg.items()]
        recipients = [
            a.lower() for _, a in getaddresses([v for n, v in headers if n.lower() in ("to", "cc", "bcc")]) if a
        ]
        if not recipients:
            raise ApiError(400, "invalidArgument", "Recipient address required")
        labels = {"SENT"} | ({"INBOX", "UNREAD"} if self.email.lower() in recipients else set())
        with self.lock:
            self.sent.append(data)
            mid = self.add_message([(n, v) for n, v in headers if n.lower() != "bcc"], labels=labels, size=len(data))
            return self.messages[mid].ref()

    def labels(self) -> dict[str, Any]:
        with self.lock:
            user = sorted({lab for m in self.messages.values() for lab in m.labels} - set(SYSTEM_LABELS))
        return {
            "labels": [{"id": lab, "name": lab, "type": "system"} for lab in SYSTEM_LABELS]
            + [{"id": lab, "name": lab, "type": "user"} for lab in user]
        }

    def label(self, label_id: str) -> dict[str, Any]:
        """``users.labels.get``: the label with its message count."""
        with self.lock:
            count = sum(1 for m in self.messages.values() if label_id in m.labels)
            known = label_id in SYSTEM_LABELS or count
        if not known:
            raise ApiError(404, "notFound", "Requested entity was not found.")
        return {"id": label_id, "name": label_id, "messagesTotal": count, "threadsTotal": count}


_BASE64URL = re.compile(r"^[A-Za-z0-9_-]*={0,2}$")


def _one(params: dict[str, list[str]], name: str, default: str) -> str:
    values = params.get(name)
    return values[-1] if values else default


def _parse_q(q: str) -> list[tuple[str, bool]]:
    """``in:drafts -in:spam label:foo`` → [(label id, must have it)]; other terms are ignored."""
    aliases = {"drafts": "DRAFT", "draft": "DRAFT", "sent": "SENT", "inbox": "INBOX", "spam": "SPAM", "trash": "TRASH"}
    out = []
    for term in q.split():
        keep = not term.startswith("-")
        term = term.lstrip("-")
        kind, _, value = term.partition(":")
        if kind in ("in", "label") and value:
            out.append((aliases.get(value.lower(), value), keep))
    return out


__all__ = ["HISTORY_TYPES", "SYSTEM_LABELS", "ApiError", "FakeMailbox", "FakeMessage", "HistoryRecord"]
