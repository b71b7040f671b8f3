"""Drive the real Dovecot the way a mail server's other clients would: APPEND, STORE, EXPUNGE."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from imapclient import IMAPClient

from kith.config.mailboxes import ImapMailbox
from kith.config.secrets import write_private
from kith.connectors.base import JSON, Stream
from kith.connectors.imap.source import ImapSource
from tests.connectors.contract import TestMessage
from tests.fixtures.dovecot import PASSWORD, Dovecot


def mailbox_config(server: Dovecot, user: str, tmp_path: Path, **overrides: Any) -> ImapMailbox:
    pw = tmp_path / "imap.pw"
    if not pw.exists():
        write_private(pw, PASSWORD)
    settings: dict[str, Any] = {
        "kind": "imap",
        "name": "work",
        "host": server.host,
        "port": server.port,
        "tls": "none",
        "username": user,
        "password_file": pw,
        "addresses": (f"{user}@example.com",),
    }
    settings.update(overrides)
    return ImapMailbox(**settings)


class ImapHarness:
    """One user, one folder (``FOLDER``, recreated by ``expire`` to change its UIDVALIDITY)."""

    FOLDER = "Work"

    def __init__(self, server: Dovecot, tmp_path: Path, *, use_condstore: bool = True) -> None:
        self.server = server
        self.user = server.new_user("c")
        self.tmp_path = tmp_path
        self.use_condstore = use_condstore
        with self.client() as c:
            c.create_folder(self.FOLDER)

    def client(self) -> IMAPClient:
        c = IMAPClient(self.server.host, port=self.server.port, ssl=False, timeout=10)
        c.login(self.user, PASSWORD)
        return c

    def config(self, **overrides: Any) -> ImapMailbox:
        overrides.setdefault("use_condstore", self.use_condstore)
        return mailbox_config(self.server, self.user, self.tmp_path, **overrides)

    def source(self, *, batch_size: int = 500, **overrides: Any) -> ImapSource:
        return ImapSource(self.config(batch_size=batch_size, **overrides))

    def stream(self, source: Any) -> Stream:
        return next(s for s in source.streams() if s.name == self.FOLDER)

    def deliver(self, items: Iterable[TestMessage], folder: str | None = None) -> None:
        with self.client() as c:
            for m in items:
                c.append(folder or self.FOLDER, m.as_bytes(), msg_time=m.date)

    def uid_of(self, c: IMAPClient, message_id: str) -> int:
        c.select_folder(self.FOLDER)
        (uid,) = c.search(["HEADER", "Message-ID", message_id])
        return int(uid)

    def delete(self, message_id: str) -> None:
        with self.client() as c:
            uid = self.uid_of(c, message_id)
            c.add_flags([uid], [b"\\Deleted"])
            c.uid_expunge([uid])

    def flag(self, message_id: str, flag: bytes = b"\\Answered") -> None:
        with self.client() as c:
            c.add_flags([self.uid_of(c, message_id)], [flag])

    def expire(self, cursor: JSON) -> None:
        """Recreate the folder with the same messages: a new UIDVALIDITY, new UIDs."""
        with self.client() as c:
            c.select_folder(self.FOLDER)
            uids = c.search(["ALL"])
            raw = c.fetch(uids, ["BODY.PEEK[]", "INTERNALDATE"]) if uids else {}
            c.close_folder()
            c.delete_folder(self.FOLDER)
            c.create_folder(self.FOLDER)
            for uid in sorted(raw):
                c.append(self.FOLDER, raw[uid][b"BODY[]"], msg_time=raw[uid][b"INTERNALDATE"])
