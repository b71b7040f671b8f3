"""mbox: header-only scanning, append-only increments, rewrites diffed against the store."""

from __future__ import annotations

from pathlib import Path

from kith.config.mailboxes import MboxMailbox
from kith.connectors.base import Role
from kith.connectors.mbox import MboxSource, scan
from tests.connectors.contract import Replica, assert_capabilities_real, messages


def mbox_bytes(items: list) -> bytes:  # type: ignore[type-arg]
    out = b""
    for m in items:
        body = m.as_bytes().replace(b"\r\n", b"\n").replace(b"\nFrom ", b"\n>From ")
        out += (
            b"From sender@example.com Sat Mar  1 09:00:00 2026\n"
            + body
            + b"\n>From the body, escaped as mboxrd does\n\n"
        )
    return out


def test_scan_finds_each_header_block(tmp_path: Path) -> None:
    p = tmp_path / "inbox"
    p.write_bytes(mbox_bytes(messages(3)))
    heads = [h for _o, h, _t in scan(p)]
    assert len(heads) == 3 and all(h.startswith(b"Message-ID: <m") for h in heads)


def test_append_reads_only_the_new_tail_and_rewrite_deletes(tmp_path: Path) -> None:
    p = tmp_path / "inbox"
    items = messages(4)
    p.write_bytes(mbox_bytes(items))
    src = MboxSource(MboxMailbox(kind="mbox", name="m", path=p))
    (stream,) = src.streams()
    assert stream.role is Role.INBOX
    rep = Replica().sync(src, stream)
    assert len(rep.items) == 4
    with p.open("ab") as fh:
        fh.write(mbox_bytes(messages(2, "new")))
    rep.sync(src, stream)
    assert rep.upserted == 2 and len(rep.items) == 6
    # a client compacts the file, dropping the second message
    kept = [m for i, m in enumerate(items) if i != 1] + messages(2, "new")
    p.write_bytes(mbox_bytes(kept))
    rep.sync(src, stream)
    assert rep.upserted == 0
    assert rep.message_ids() == sorted(m.message_id for m in kept)


def test_folder_of_mbox_files_maps_roles(tmp_path: Path) -> None:
    (tmp_path / "Sent").write_bytes(mbox_bytes(messages(1)))
    (tmp_path / "Trash").write_bytes(mbox_bytes(messages(1)))
    (tmp_path / "Projects").write_bytes(b"")
    src = MboxSource(MboxMailbox(kind="mbox", name="m", path=tmp_path))
    assert {s.name: s.role for s in src.streams()} == {"Projects": Role.OTHER, "Sent": Role.SENT}


def test_capabilities_are_declared_as_the_source_really_has_them(tmp_path: Path) -> None:
    (tmp_path / "INBOX").write_bytes(mbox_bytes(messages(1)))
    assert assert_capabilities_real(MboxSource(MboxMailbox(kind="mbox", name="m", path=tmp_path))) == frozenset()
