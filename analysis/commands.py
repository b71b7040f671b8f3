"""Reply-to-act: the signed commands the report's *Done* / *Snooze* links send, as pure functions.

A report row carries ``mailto:`` links to my own address whose subject is a command such as
``kith: snooze 7d #123 k7Hq…``. When that message comes back through a sync, its Subject and
From (headers only: no body is ever read) decide what happens. Everything in a header is hostile,
so the grammar is one strict, anchored, bounded pattern (no "Re:", no extra words, ASCII only)
and the token is checked before anything else is believed:

- the **token** is 16 bytes, base64url without padding (22 characters): a 4-byte expiry (Unix
  seconds, big-endian) and the first 12 bytes of HMAC-SHA256 over (flag id, action, expiry, the
  flag's stable key) under a key that only this installation holds (``action.key`` in the state
  directory), so a token names one action on one flag until one time and cannot be moved to
  another. The flag's number alone is not its identity: a database made anew while the state
  directory (and its key) is kept numbers other flags the same way, and an old link would act on
  whichever got its number. The verifier looks the flag up by number first and checks its key
  too. (Tokens signed before the key was bound fail as forged; links expire in 14 days anyway.)
- a command is **ok** only with a matching MAC and an expiry still ahead; a bad MAC is *forged*
  (checked first, so a stale forgery reads as forged, not expired).

Who may send it (my own addresses), *once only*, and what a command does to a flag are the
callers' part (``kith.daemon.commands`` and ``kith.web.act``), with the used tokens in the store.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from urllib.parse import quote

#: The state-directory file holding the signing key (0600, created on first use).
KEY_FILE = "action.key"
#: A subject longer than this is not looked at (the longest command is 50 characters).
MAX_SUBJECT = 120
#: The largest flag id: the database's integer (PostgreSQL's is 32 bits). A larger number in a
#: subject or a link names no flag and must not reach a query that would fail on it.
MAX_FLAG_ID = 2**31 - 1
MAC_BYTES = 12
TOKEN_CHARS = 22  # base64url of 4 + MAC_BYTES bytes, unpadded


class Action(StrEnum):
    """What a command does: the value is the word in the subject."""

    DONE = "done"
    SNOOZE_WEEK = "snooze 7d"
    SNOOZE_MONTH = "snooze 30d"

    @property
    def label(self) -> str:
        return {"done": "Done", "snooze 7d": "Snooze 1 week", "snooze 30d": "Snooze 1 month"}[self.value]

    @property
    def slug(self) -> str:
        """The URL-safe name (web links): ``done``, ``snooze-7d``, ``snooze-30d``."""
        return self.value.replace(" ", "-")

    @property
    def snooze_days(self) -> int | None:
        return {"snooze 7d": 7, "snooze 30d": 30}.get(self.value)

    @classmethod
    def from_slug(cls, slug: str) -> Action | None:
        return next((a for a in cls if a.slug == slug), None)


_SUBJECT = re.compile(r"kith: (done|snooze 7d|snooze 30d) #([1-9][0-9]{0,9}) ([A-Za-z0-9_-]{22})", re.ASCII)


@dataclass(frozen=True, slots=True)
class Command:
    """A command as the subject states it; nothing here is trusted until ``verify`` says ok."""

    flag_id: int
    action: Action
    token: str

    @property
    def expires(self) -> datetime:
        return datetime.fromtimestamp(int.from_bytes(_unb64(self.token)[:4], "big"), UTC)

    @property
    def digest(self) -> str:
        """What the store keeps to refuse a replay (never the token itself)."""
        return hashlib.sha256(self.token.encode()).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, flag_id: int, action: Action, expiry: int, identity: str) -> bytes:
    # the identity last: the other parts cannot hold a NUL, so no two inputs read the same
    message = f"kith-action\0{flag_id}\0{action.value}\0{expiry}\0{identity}".encode()
    return hmac.new(key, message, hashlib.sha256).digest()[:MAC_BYTES]


def sign(key: bytes, flag_id: int, action: Action, expires: datetime, identity: str) -> str:
    """The token for one action on one flag (its number and its stable key, ``identity``),
    valid until ``expires``."""
    expiry = int(expires.timestamp())
    return _b64(expiry.to_bytes(4, "big") + _mac(key, flag_id, action, expiry, identity))


def parse_subject(subject: str | None) -> Command | None:
    """The command a Subject header states, or None: strict grammar, bounded length."""
    if not subject or len(subject) > MAX_SUBJECT:
        return None
    found = _SUBJECT.fullmatch(subject.strip())
    if found is None:
        return None
    word, flag, token = found.groups()
    if int(flag) > MAX_FLAG_ID:
        return None
    return Command(int(flag), Action(word), token)


def verify(key: bytes, command: Command, now: datetime, identity: str) -> str:
    """``ok``, ``forged`` (the MAC does not match: made up, one part changed, or the flag with
    this number is not the one it was signed for: ``identity``, its stable key) or ``expired``."""
    try:
        raw = _unb64(command.token)
    except (binascii.Error, ValueError):
        return "forged"
    if len(raw) != 4 + MAC_BYTES or _b64(raw) != command.token:  # one spelling: the replay guard keys on it
        return "forged"
    expiry = int.from_bytes(raw[:4], "big")
    if not hmac.compare_digest(raw[4:], _mac(key, command.flag_id, command.action, expiry, identity)):
        return "forged"
    return "ok" if now.timestamp() < expiry else "expired"


def subject(flag_id: int, action: Action, token: str) -> str:
    return f"kith: {action.value} #{flag_id} {token}"


def mailto(to: str, flag_id: int, action: Action, token: str) -> str:
    """The link a report row carries: a message to myself whose subject is the command. The
    body only tells a person what the message is for; kith never reads it."""
    body = "Send this message as it is: kith reads only its subject, once, from your own address."
    return f"mailto:{quote(to, safe='@')}?subject={quote(subject(flag_id, action, token), safe='')}&body={quote(body, safe='')}"


def snooze_until(action: Action, now: datetime) -> datetime | None:
    days = action.snooze_days
    return None if days is None else now + timedelta(days=days)


__all__ = [
    "KEY_FILE",
    "MAX_FLAG_ID",
    "MAX_SUBJECT",
    "TOKEN_CHARS",
    "Action",
    "Command",
    "mailto",
    "parse_subject",
    "sign",
    "snooze_until",
    "subject",
    "verify",
]
