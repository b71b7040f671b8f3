"""Maildir source: the shared contract plus what is special to local folders."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import pytest

from kith.config.mailboxes import MaildirMailbox
from kith.connectors.base import FlagUpdate, Role, Source, Stream
from kith.connectors.maildir import MaildirSource, discover_folders, split_name
from tests.connectors.contract import ConnectorContract, Replica, TestMessage, messages

JSON = dict


def make_maildir(root: Path, *folders: str) -> None:
    for folder in ("", *folders):
        for sub in ("cur", "new", "tmp"):
            (root / folder / sub).mkdir(parents=True, exist_ok=True)


class MaildirHarness:
    def __init__(self, root: Path) -> None:
        self.root = root
        make_maildir(root, ".Sent", ".Junk")
        self.files: dict[str, Path] = {}
        self.n = 0

    def config(self, batch_size: int = 500) -> MaildirMailbox:
        return MaildirMailbox(
            kind="maildir", name="local", path=self.root, addresses=("me@example.com",), batch_size=batch_size
        )

    def source(self, *, batch_size: int = 500) -> Source:
        return MaildirSource(self.config(batch_size))

    def stream(self, source: Source) -> Stream:
        return next(s for s in source.streams() if s.role is Role.INBOX)

    def deliver(self, items: Iterable[TestMessage], folder: str = "") -> None:
        for m in items:
            self.n += 1
            path = self.root / folder / "new" / f"1700000000.M{self.n}P1.test"
            path.write_bytes(m.as_bytes())
            self.files[m.message_id] = path

    def delete(self, message_id: str) -> None:
        self.files.pop(message_id).unlink()

    def expire(self, cursor: JSON) -> None:
        """Recreate the folder: same files, new directory identity."""
        tmp = self.root.parent / "moving"
        shutil.move(self.root, tmp)
        shutil.copytree(tmp, self.root)
        shutil.rmtree(tmp)
        self.files = {k: self.root / v.parent.name / v.name for k, v in self.files.items()}


class TestMaildirContract(ConnectorContract):
    @pytest.fixture
    def harness(self, tmp_path: Path) -> MaildirHarness:
        return MaildirHarness(tmp_path / "Mail")


def test_split_name_handles_info_and_bang() -> None:
    assert split_name("123.abc:2,RS") == ("123.abc", "RS")
    assert split_name("123.abc!2,S") == ("123.abc", "S")
    assert split_name("123.abc") == ("123.abc", "")


def test_folders_and_roles(tmp_path: Path) -> None:
    h = MaildirHarness(tmp_path / "Mail")
    make_maildir(h.root, ".Archive", ".Trash", ".Drafts", ".Projects.Alpha")
    folders = discover_folders(h.root)
    assert set(folders) == {"INBOX", "Sent", "Junk", "Archive", "Trash", "Drafts", "Projects/Alpha"}
    roles = {s.name: s.role for s in h.source().streams()}
    assert roles == {"INBOX": Role.INBOX, "Sent": Role.SENT, "Archive": Role.ARCHIVE, "Projects/Alpha": Role.OTHER}
    # junk is synced when the config asks for it; overrides rename roles
    cfg = h.config().model_copy(update={"include_roles": ("junk",), "roles": {"Projects/Alpha": "archive"}})
    roles = {s.name: s.role for s in MaildirSource(cfg).streams()}
    assert roles["Junk"] is Role.JUNK and roles["Projects/Alpha"] is Role.ARCHIVE


def test_unchanged_maildir_reads_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    h = MaildirHarness(tmp_path / "Mail")
    h.deliver(messages(20))
    old = 1_600_000_000
    for sub in ("new", "cur"):
        os.utime(h.root / sub, (old, old))
    source = h.source()
    stream = h.stream(source)
    rep = Replica().sync(source, stream)
    assert len(rep.items) == 20 and rep.cursor and rep.cursor["mtimes"] is not None
    calls: list[str] = []
    monkeypatch.setattr(os, "listdir", lambda p: calls.append(str(p)) or [])
    import kith.connectors.maildir as md

    monkeypatch.setattr(md, "read_header_block", lambda p: calls.append(str(p)) or (b"", 0))
    rep.sync(source, stream)
    assert calls == [] and rep.upserted == 0


def test_rename_is_a_flag_update_not_a_reread(tmp_path: Path) -> None:
    h = MaildirHarness(tmp_path / "Mail")
    h.deliver(messages(3))
    source = h.source()
    stream = h.stream(source)
    rep = Replica().sync(source, stream)
    path = h.files["<m1@contract.test>"]
    os.rename(path, h.root / "cur" / (path.name + ":2,RS"))
    batches = list(source.pull(stream, None, rep.known))
    updates = [fu for b in batches for fu in b.flag_updates]
    assert [b.upserts for b in batches] == [()]
    assert updates == [FlagUpdate(path.name, frozenset({"\\Answered", "\\Seen"}))]


def test_bad_files_are_problems_and_the_rest_syncs(tmp_path: Path) -> None:
    h = MaildirHarness(tmp_path / "Mail")
    h.deliver(messages(3))
    (h.root / "cur" / "empty:2,S").write_bytes(b"")
    (h.root / "cur" / "binary:2,S").write_bytes(bytes(range(256)) * 10)
    (h.root / "cur" / "notes.txt").write_text("just some text\nwithout any header\n")
    (h.root / "cur" / ".hidden").write_text("ignored")
    source = h.source()
    batches = list(source.pull(h.stream(source), None))
    problems = {p.provider_key: p.message for b in batches for p in b.problems}
    assert len([r for b in batches for r in b.upserts]) == 3
    assert set(problems) == {"empty", "binary", "notes.txt"}
    assert "empty file" in problems["empty"]


def test_parallel_parsing_gives_the_same_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import kith.connectors.maildir as md

    h = MaildirHarness(tmp_path / "Mail")
    h.deliver(messages(40))
    (h.root / "cur" / "empty:2,S").write_bytes(b"")
    source = MaildirSource(h.config(batch_size=7))
    stream = h.stream(source)
    inline = Replica().sync(source, stream)
    monkeypatch.setattr(md, "PARALLEL_MIN", 10)
    parallel = Replica().sync(source, stream)
    assert parallel.items == inline.items and len(parallel.items) == 40
    assert parallel.batches == inline.batches
