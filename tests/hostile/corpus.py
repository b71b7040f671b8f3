"""Mail written by strangers, and the real places it arrives through: Maildir, mbox, Dovecot.

Each hostile message is a header block anyone can send. ``Place`` puts messages where one
connector reads them (Maildir files, an mbox file, a Dovecot user's INBOX) and gives the mailbox
config that reads them, so one test runs through every real path.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from kith.config.load import Config
from kith.config.mailboxes import MailboxBase, MaildirMailbox, MboxMailbox
from kith.config.models import GlobalConfig, MeConfig
from kith.daemon.sync import MailboxResult, SyncEngine
from kith.store.engine import Store

ME = "me@example.com"


def message(
    n: int | str,
    *,
    subject: str = "hello",
    sender: str = "alice@example.com",
    to: str = ME,
    date: str = "Sun, 01 Mar 2026 09:00:00 +0000",
    extra: str = "",
    message_id: str | None = None,
) -> bytes:
    """One RFC 5322 header block (and a body line); ``extra`` is appended raw (already folded)."""
    mid = message_id or f"<h{n}@hostile.test>"
    head = f"Message-ID: {mid}\r\nDate: {date}\r\nFrom: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n{extra}"
    return head.encode("utf-8", "surrogateescape") + b"\r\nbody\r\n"


#: The two encoded words of finding 1: a lone surrogate and a NUL once decoded.
SURROGATE_SUBJECT = "=?unicode_escape?q?x\\ud800?="
NUL_SUBJECT = "=?utf-8?q?a=00b?="


def blocking_messages() -> list[bytes]:
    """Messages that, before the boundary sanitizer, each stopped their stream for good."""
    return [
        message("s", subject=SURROGATE_SUBJECT),
        message("n", subject=NUL_SUBJECT),
        message("c", sender="=?utf-8?q?Eve=0D=0ABcc=3A_x=40y=1B=5D52=3Bc=3BaGk=07?= <eve@x.com>"),
        message("r", subject="raw \x00 nul and \x1b[2J escape", extra="X-Junk: \x00\x01\x02\r\n"),
        message("l", sender="Long <" + "a" * 600 + "@x.com>", subject="=?utf-16?b?2AA=?="),
    ]


@dataclass
class Place:
    """Where one connector reads mail from, on disk or in the test Dovecot."""

    kind: str
    root: Path
    dovecot: Any = None
    user: str = ""
    written: int = field(default=0)

    def deliver(
        self,
        items: Iterable[bytes],
        folder: str = "",
        *,
        envelope: str | None = None,
        mtime: float | None = None,
    ) -> None:
        """Put ``items`` in ``folder``; ``envelope`` is the date of mbox's ``From `` line (default
        now, as a delivery agent writes it; empty: none) and ``mtime`` the Maildir files' time
        (their arrival time)."""
        if envelope is None:
            envelope = datetime.now(UTC).strftime("%a %b %d %H:%M:%S %Y")
        items = list(items)
        if self.kind == "imap":
            self.dovecot.seed(self.user, items, folder or "INBOX")
        elif self.kind == "maildir":
            target = self.root / (f".{folder}" if folder else "")
            for sub in ("cur", "new", "tmp"):
                (target / sub).mkdir(parents=True, exist_ok=True)
            for data in items:
                self.written += 1
                path = target / "new" / f"{1700000000 + self.written}.M{self.written}P1.hostile"
                path.write_bytes(data)
                if mtime is not None:
                    os.utime(path, (mtime, mtime))
        else:
            path = self.root / (folder or "INBOX")
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "ab") as fh:
                for data in items:
                    line = f"From stranger@x {envelope}".strip().encode()
                    fh.write(line + b"\n" + data.replace(b"\r\n", b"\n") + b"\n")

    def config(self, name: str = "hostile") -> MailboxBase:
        if self.kind == "imap":
            from tests.connectors.imap.harness import mailbox_config

            return mailbox_config(self.dovecot, self.user, self.root, name=name, addresses=(ME,))
        if self.kind == "maildir":
            return MaildirMailbox(kind="maildir", name=name, path=self.root, addresses=(ME,))
        return MboxMailbox(kind="mbox", name=name, path=self.root, addresses=(ME,))


def place(kind: str, tmp_path: Path, request: Any, sub: str = "") -> Place:
    """A fresh place of ``kind`` (imap, maildir, mbox); ``sub`` tells two places apart."""
    if kind == "imap":
        server = request.getfixturevalue("dovecot")
        (tmp_path / f"imap{sub}").mkdir()
        return Place("imap", tmp_path / f"imap{sub}", dovecot=server, user=server.new_user("h"))
    root = tmp_path / f"{kind}{sub}"
    root.mkdir()
    return Place(kind, root)


def sync(store: Store, config: MailboxBase, tmp_path: Path, **kwargs: Any) -> MailboxResult:
    return SyncEngine(store, state_dir=tmp_path, attempts=1).sync_mailbox(config, **kwargs)


def cli_config(tmp_path: Path, n: int = 3) -> tuple[Path, Path]:
    """A ``kith.toml`` (state in ``tmp_path/state``) with one Maildir mailbox holding ``n``
    messages, as ``kith init`` and an edit make it; returns the file and the Maildir."""
    where = place("maildir", tmp_path, None)
    where.deliver([message(i) for i in range(n)])
    (tmp_path / "mailboxes.d").mkdir()
    (tmp_path / "kith.toml").write_text(f'state_dir = "{tmp_path / "state"}"\n[me]\naddresses = ["{ME}"]\n')
    (tmp_path / "mailboxes.d" / "local.toml").write_text(f'kind = "maildir"\npath = "{where.root}"\n')
    return tmp_path / "kith.toml", where.root


def config_of(*mailboxes: MailboxBase, state_dir: Path | None = None) -> Config:
    """The whole config an analysis or a report needs, for these mailboxes."""
    extra: dict[str, Any] = {"state_dir": state_dir} if state_dir is not None else {}
    return Config(settings=GlobalConfig(me=MeConfig(addresses=(ME,)), **extra), mailboxes=mailboxes)


def analyze(store: Store, config: Config, *, rebuild: bool = False, now: datetime | None = None) -> dict[str, Any]:
    from kith.analysis.api import analyze as run

    with store.session() as s:
        return run(s, config, now=now or datetime.now(UTC), rebuild=rebuild)


def rfc_date(when: datetime) -> str:
    return format_datetime(when)


__all__ = [
    "ME",
    "NUL_SUBJECT",
    "SURROGATE_SUBJECT",
    "Place",
    "analyze",
    "blocking_messages",
    "cli_config",
    "config_of",
    "message",
    "place",
    "rfc_date",
    "sync",
]
