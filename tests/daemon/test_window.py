"""First flags early (issue 28): the recent window first, then the backfill, equals a full sync.

The windowed sync runs on both dialects; the reference is a plain full sync of the same mailboxes
into SQLite. Rows are compared by content (ids and sync times differ between stores), then the
flags an analysis makes of each.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from kith.analysis.api import analyze
from kith.cli.demo_pipeline import write_demo_config
from kith.config.load import load_config
from kith.connectors.base import RecentFirst, Role, Stream
from kith.connectors.maildir import MaildirSource
from kith.daemon.sync import SyncEngine
from kith.store.derived import FlagRow
from kith.store.engine import Store, open_store, sqlite_url
from kith.store.models import MessageLocation, MessageParticipant, MessageRow, StreamRow, utcnow

MSG, PART, LOC, ST = MessageRow.__table__, MessageParticipant.__table__, MessageLocation.__table__, StreamRow.__table__


def _rows(store: Store) -> tuple[list[Any], ...]:
    with store.engine.connect() as conn:
        msgs = sorted(
            (r.message_key, r.message_id, r.subject, r.date.isoformat() if r.date else None, r.from_addr, r.deleted_at)
            for r in conn.execute(select(MSG))
        )
        parts = sorted(
            tuple(r)
            for r in conn.execute(
                select(MSG.c.message_key, PART.c.role, PART.c.position, PART.c.address, PART.c.name).join(
                    MSG, MSG.c.id == PART.c.message_id
                )
            )
        )
        locs = sorted(
            tuple(r)
            for r in conn.execute(
                select(ST.c.name, LOC.c.provider_key, MSG.c.message_key, LOC.c.flags, LOC.c.labels, LOC.c.version)
                .join(MSG, MSG.c.id == LOC.c.message_id)
                .join(ST, ST.c.id == LOC.c.stream_id)
            )
        )
        # a cursor's content depends on when it was taken (a Maildir's mtimes settle): its presence
        cursors = sorted((r.name, r.cursor is not None) for r in conn.execute(select(ST.c.name, ST.c.cursor)))
    return msgs, parts, locs, cursors


def _flags(store: Store, config: Any, now: Any) -> list[Any]:
    with store.session() as s:
        analyze(s, config, now=now)
    with store.engine.connect() as conn:
        fl = FlagRow.__table__.c
        return sorted(tuple(r) for r in conn.execute(select(fl.kind, fl.key, fl.contact_address, fl.state, fl.since)))


def test_the_window_first_then_the_backfill_equals_a_plain_full_sync(tmp_path: Path, store_url: str) -> None:
    from kith.sample import generate

    now = utcnow().replace(microsecond=0)
    info = generate(tmp_path / "sample", seed=5, messages=1500, now=now)
    config = load_config(write_demo_config(tmp_path, info))
    plain = open_store(sqlite_url(tmp_path / "plain.db"))
    windowed = open_store(store_url)
    try:
        SyncEngine(plain, state_dir=config.state_dir).sync(config.mailboxes)
        seen: list[tuple[int, set[str]]] = []

        def first_flags(touched: set[str]) -> None:  # the daemon analyses here; we count
            with windowed.engine.connect() as conn:
                seen.append((len(conn.execute(select(MSG.c.id)).all()), touched))

        engine = SyncEngine(
            windowed, state_dir=config.state_dir, first_window=timedelta(days=90), on_window=first_flags
        )
        engine.sync(config.mailboxes)
        total = len(_rows(plain)[0])
        assert seen, "the window was handed to the analysis"
        assert all(0 < n < total for n, _ in seen)  # before the backfill, and only the recent part
        assert all(touched for _, touched in seen)
        assert _rows(windowed) == _rows(plain)
        assert _flags(windowed, config, info.now) == _flags(plain, config, info.now)
        # a second sync has cursors everywhere: no window again
        seen.clear()
        engine.sync(config.mailboxes)
        assert seen == []
    finally:
        plain.dispose()
        windowed.dispose()


def test_maildir_recent_first_by_delivery_time(tmp_path: Path) -> None:
    from kith.config.mailboxes import MaildirMailbox

    for sub in ("cur", "new", "tmp"):
        (tmp_path / "mail" / sub).mkdir(parents=True)
    now = time.time()
    for i, age_days in enumerate((1, 5, 200, 30, 500, 600)):
        stamp = int(now - age_days * 86400)
        (tmp_path / "mail" / "cur" / f"{stamp}.M{i}P1.host:2,S").write_bytes(
            f"From: a{i}@example.org\r\nMessage-ID: <m{i}@x>\r\nSubject: s{i}\r\n\r\n".encode()
        )
    # a name without a leading time: its mtime decides
    odd = tmp_path / "mail" / "new" / "no-time-here"
    odd.write_bytes(b"From: b@example.org\r\nMessage-ID: <odd@x>\r\n\r\n")
    os.utime(odd, (now - 400 * 86400, now - 400 * 86400))
    source = MaildirSource(MaildirMailbox(name="m", kind="maildir", path=tmp_path / "mail"))
    assert isinstance(source, RecentFirst)
    batches = list(source.pull_recent(Stream("INBOX", Role.INBOX), utcnow() - timedelta(days=90)))
    got = [r.message_id for b in batches for r in b.upserts]
    assert got == ["<m0@x>", "<m1@x>", "<m3@x>"]  # newest first; 200 and 400 days old are not in it
    assert all(b.cursor is None for b in batches)
    # the versions a full pull gives: it then knows these files and reads them no more
    full = {k: v for b in source.pull(Stream("INBOX", Role.INBOX), None) for k, v in b.versions.items()}
    assert all(full[k] == v for b in batches for k, v in b.versions.items())
    # a window that holds most of the folder is left to the full pull (it would read it twice)
    assert list(source.pull_recent(Stream("INBOX", Role.INBOX), utcnow() - timedelta(days=250))) == []


def test_imap_recent_first_by_arrival(tmp_path: Path, dovecot: Any) -> None:
    from kith.connectors.imap.source import ImapSource
    from tests.connectors.imap.harness import mailbox_config

    user = dovecot.new_user("window")
    msgs = [
        f"From: a{i}@example.org\r\nMessage-ID: <w{i}@x>\r\nSubject: s{i}\r\n\r\nbody\r\n".encode() for i in range(4)
    ]
    dovecot.seed(user, msgs)
    now = time.time()
    files = sorted(
        (dovecot.maildir(user, "INBOX") / "cur").iterdir(), key=lambda f: int(f.name.split(".M")[1].split("P")[0])
    )
    for f, age_days in zip(files, (300, 2, 120, 10), strict=True):  # INTERNALDATE is the file's mtime
        os.utime(f, (now - age_days * 86400, now - age_days * 86400))
    source = ImapSource(mailbox_config(dovecot, user, tmp_path), state_dir=tmp_path)
    try:
        assert isinstance(source, RecentFirst)
        batches = list(source.pull_recent(Stream("INBOX", Role.INBOX), utcnow() - timedelta(days=90)))
    finally:
        source.close()
    got = [r.message_id for b in batches for r in b.upserts]
    assert sorted(got) == ["<w1@x>", "<w3@x>"]
    assert all(b.cursor is None for b in batches)
