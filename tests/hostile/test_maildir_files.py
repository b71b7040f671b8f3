"""Finding 11 (Maildir): a FIFO in ``cur/`` hung ``kith sync`` forever (and the daemon's lease),
and symbolic links were followed out of the tree (the headers of a root-only file were stored).
Through ``kith sync`` in a process of its own, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from kith.store.engine import Store
from kith.store.models import MessageRow, SyncProblem
from tests.hostile.corpus import message, place


def test_fifos_and_links_in_a_maildir_are_skipped_and_named(store: Store, tmp_path: Path) -> None:
    where = place("maildir", tmp_path, None)
    where.deliver([message(1), message(2)])
    secret = tmp_path / "outside" / "shadow"
    secret.parent.mkdir()
    secret.write_bytes(b"From: root@secret.example\nSubject: root:$6$hash:19000\nMessage-ID: <shadow@x>\n\n")
    os.chmod(secret, 0o600)
    (tmp_path / "outside" / "cur").mkdir()
    (tmp_path / "outside" / "cur" / "1700000001.M1P1.out:2,S").write_bytes(message("out", subject="outside the tree"))
    cur = where.root / "cur"
    os.mkfifo(cur / "1700000002.M2P2.fifo:2,S")
    os.symlink(secret, cur / "1700000003.M3P3.link:2,S")
    folder = where.root / ".Linked"
    folder.mkdir()
    os.symlink(tmp_path / "outside" / "cur", folder / "cur")  # a folder whose cur/ is elsewhere
    (tmp_path / "mailboxes.d").mkdir()
    (tmp_path / "kith.toml").write_text(
        f'state_dir = "{tmp_path / "state"}"\n[me]\naddresses = ["me@example.com"]\n'
        f'[database]\nurl = "{store.url.render_as_string(hide_password=False)}"\n'
    )
    (tmp_path / "mailboxes.d" / "local.toml").write_text(f'kind = "maildir"\npath = "{where.root}"\n')
    res = subprocess.run(
        [sys.executable, "-m", "kith", "--config", str(tmp_path / "kith.toml"), "sync"],
        capture_output=True,
        text=True,
        timeout=120,  # the FIFO used to block the read for ever
    )
    assert res.returncode == 0, res.stderr
    with store.engine.connect() as conn:
        subjects = set(conn.execute(select(MessageRow.subject)).scalars())
        problems = dict(conn.execute(select(SyncProblem.provider_key, SyncProblem.message)).all())
    assert subjects == {"hello"}  # the two delivered messages, nothing from outside
    assert "not a regular file" in problems["1700000002.M2P2.fifo"]
    assert "symbolic link, not followed" in problems["1700000003.M3P3.link"]
