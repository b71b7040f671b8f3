"""The web app's secret and what is signed with it: login cookies, CSRF tokens, login links.

One random key in the state directory (``web.key``, mode 0600 in a 0700 folder) gates the web
app. Nothing about a session is kept on the server: the cookie carries its own issue time and
a random session id under an HMAC, so a daemon restart keeps everyone logged in and deleting
the key logs everyone out. The CSRF token is an HMAC of the session id, so it is tied to the
cookie it came with and a page from another site can neither read nor forge it.

One-time login links are the exception: a link must work once, whatever process serves the app
(``kith web`` or ``kith run``), so the hashes of the links not yet used live in a small file
beside the key (``web-logins.json``, 0600), and the server crosses a link off under a file lock
when it is used.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kith.config.secrets import write_private

KEY_FILE = "web.key"
LOGINS_FILE = "web-logins.json"
#: How long a login link printed by ``kith web --open`` stays valid (it works once in that time).
LOGIN_TTL = 600.0


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def private_dir(path: Path) -> Path:
    """``path`` as a folder only its owner can enter (created 0700; an existing one tightened)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o700)
    return path


def load_key(state_dir: Path) -> bytes:
    """The web app's key, made on first use."""
    path = private_dir(state_dir) / KEY_FILE
    try:
        raw = path.read_bytes().strip()
    except FileNotFoundError:
        raw = b""
    if len(raw) < 32:
        raw = _b64(secrets.token_bytes(32)).encode()
        write_private(path, raw)
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)
    return raw


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in browser: its random id and when its login happened (epoch seconds)."""

    sid: str
    issued: int


class Signer:
    """HMAC-SHA256 under the web key; every comparison in constant time."""

    def __init__(self, key: bytes, *, lifetime: float) -> None:
        self._key = key
        self.lifetime = lifetime

    def _mac(self, purpose: str, payload: str) -> str:
        return _b64(hmac.new(self._key, f"{purpose}\0{payload}".encode(), hashlib.sha256).digest())

    def new_session(self, now: float | None = None) -> tuple[Session, str]:
        """A fresh session and its cookie value."""
        session = Session(_b64(secrets.token_bytes(18)), int(now if now is not None else time.time()))
        payload = f"{session.sid}.{session.issued}"
        return session, f"{payload}.{self._mac('session', payload)}"

    def session(self, cookie: str | None, now: float | None = None) -> Session | None:
        """The session a cookie value proves, or None (missing, forged, expired, malformed)."""
        if not cookie or len(cookie) > 200:
            return None
        parts = cookie.split(".")
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        sid, issued, mac = parts
        if not hmac.compare_digest(mac, self._mac("session", f"{sid}.{issued}")):
            return None
        now = now if now is not None else time.time()
        if not 0 <= now - int(issued) <= self.lifetime:
            return None
        return Session(sid, int(issued))

    def csrf(self, session: Session) -> str:
        """The CSRF token of a session: every form of its pages carries it."""
        return self._mac("csrf", session.sid)

    def csrf_ok(self, session: Session, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(str(token), self.csrf(session))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@contextmanager
def _locked_logins(state_dir: Path) -> Iterator[dict[str, float]]:
    """The pending login links (hash -> expiry), read and written back under an exclusive lock."""
    folder = private_dir(state_dir)
    with open(os.open(folder / f"{LOGINS_FILE}.lock", os.O_RDWR | os.O_CREAT, 0o600)) as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        path = folder / LOGINS_FILE
        try:
            pending = {str(k): float(v) for k, v in json.loads(path.read_text()).items()}
        except (FileNotFoundError, ValueError, AttributeError):
            pending = {}
        before = dict(pending)
        yield pending
        now = time.time()
        kept = {k: v for k, v in pending.items() if v > now}
        if kept != before:
            write_private(path, json.dumps(kept))


def issue_login(state_dir: Path, *, ttl: float = LOGIN_TTL) -> str:
    """A new one-time login token (only its hash is written down)."""
    token = _b64(secrets.token_bytes(24))
    with _locked_logins(state_dir) as pending:
        pending[_digest(token)] = time.time() + ttl
    return token


def consume_login(state_dir: Path, token: str | None) -> bool:
    """True once for a token ``issue_login`` made, within its time; False ever after."""
    if not token or len(token) > 100:
        return False
    with _locked_logins(state_dir) as pending:
        expiry = pending.pop(_digest(token), None)
    return expiry is not None and expiry > time.time()


__all__ = [
    "LOGIN_TTL",
    "Session",
    "Signer",
    "consume_login",
    "issue_login",
    "load_key",
    "private_dir",
]
