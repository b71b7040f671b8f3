"""Finding 1: one email blocked a mailbox forever. Through Dovecot, Maildir and mbox, on SQLite and
PostgreSQL: hostile messages are stored (cleaned, their problems named), the good ones around them
too, the cursor moves, and mail that arrives later is stored by the next sync."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from kith.connectors.base import Batch, MessageRecord, Stream
from kith.store.engine import Store
from kith.store.models import MessageRow, StreamRow, SyncProblem
from tests.hostile.corpus import blocking_messages, message, place, sync


def stored(store: Store) -> dict[str, MessageRow]:
    with store.engine.connect() as conn:
        return {r.message_id: r for r in conn.execute(select(MessageRow.__table__))}


@pytest.mark.parametrize("kind", ["imap", "maildir", "mbox"])
def test_one_hostile_message_never_blocks_its_mailbox(
    kind: str, store: Store, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    where = place(kind, tmp_path, request)
    where.deliver([message(1), *blocking_messages(), message(2)])
    first = sync(store, where.config(), tmp_path)
    assert first.status == "ok", first.error
    rows = stored(store)
    assert set(rows) == {"<h1@hostile.test>", "<h2@hostile.test>", *(f"<h{c}@hostile.test>" for c in "sncrl")}
    for row in rows.values():
        for text in (row.subject or "", row.from_name or "", row.from_addr or ""):
            assert all(c >= " " and not 0x7F <= ord(c) <= 0x9F and not 0xD800 <= ord(c) <= 0xDFFF for c in text)
    assert rows["<hs@hostile.test>"].subject == "x\\ud800"
    assert any("not a text charset 'unicode_escape'" in p for p in rows["<hs@hostile.test>"].problems or [])
    assert rows["<hn@hostile.test>"].subject == "ab"
    assert rows["<hc@hostile.test>"].from_name == "Eve Bcc: x@y]52;c;aGk"
    # the cursor moved: a message that arrives after them is stored by the next sync
    where.deliver([message(3)])
    second = sync(store, where.config(), tmp_path)
    assert second.status == "ok", second.error
    assert "<h3@hostile.test>" in stored(store)
    with store.engine.connect() as conn:
        assert all(e is None for e in conn.execute(select(StreamRow.last_error)).scalars())


class _Refused:
    """A connector whose batch holds one record the database cannot take (a size of 2**70
    overflows SQLite's and PostgreSQL's 64-bit integers) among good ones: the case the sanitizer
    cannot prevent, so the store's refusal itself must be contained."""

    def __init__(self) -> None:
        self.pulled = 0

    def streams(self) -> list[Stream]:
        from kith.connectors.base import Role

        return [Stream("INBOX", Role.INBOX)]

    def pull(self, stream: Stream, cursor: object, known: object = None) -> object:
        from datetime import UTC, datetime

        self.pulled += 1
        recs = [
            MessageRecord(f"k{i}", f"<r{i}@x>", datetime(2026, 3, 1, tzinfo=UTC), subject=f"s{i} private")
            for i in range(10)
        ]
        recs[6] = MessageRecord("k6", "<r6@x>", datetime(2026, 3, 1, tzinfo=UTC), subject="huge", size=2**70)
        yield Batch(upserts=tuple(recs), cursor={"at": 10})

    def close(self) -> None:
        return None


def test_a_record_the_store_refuses_is_split_out_named_and_skipped(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Also finding 11: neither the stream's last error nor the log carries the statement's
    parameters (the other messages of the batch: their subjects, other people's addresses)."""
    from kith.config.mailboxes import MaildirMailbox
    from kith.daemon import sync as sync_module

    source = _Refused()
    monkeypatch.setattr(sync_module, "make_source", lambda mb, state_dir: source)
    config = MaildirMailbox(kind="maildir", name="refused", path=tmp_path)
    result = sync(store, config, tmp_path)
    assert result.status == "ok", result.error
    assert result.upserts == 9 and result.problems == 1
    rows = stored(store)
    assert set(rows) == {f"<r{i}@x>" for i in range(10) if i != 6}
    with store.engine.connect() as conn:
        problems = conn.execute(select(SyncProblem.provider_key, SyncProblem.message)).all()
        cursor = conn.execute(select(StreamRow.cursor)).scalar_one()
    assert [k for k, _m in problems] == ["k6"]
    # the problem names that record only: no other message's subject or id
    assert "private" not in problems[0][1] and "<r" not in problems[0][1]
    assert cursor == {"at": 10}
    with store.engine.connect() as conn:
        assert conn.execute(select(StreamRow.last_error)).scalar_one() is None
    assert "private" not in caplog.text and "<r1@x>" not in caplog.text


def test_kith_sync_exits_non_zero_when_a_stream_is_partial(tmp_path: Path) -> None:
    """Finding 1's last part: a sync that left a stream behind said "partial" and exited 0."""
    from typer.testing import CliRunner

    from kith.cli import app
    from tests.hostile.corpus import cli_config

    config, maildir = cli_config(tmp_path)
    broken = maildir / ".Broken"
    (broken / "new").mkdir(parents=True)
    (broken / "cur").write_text("a file where a folder must be: this folder cannot be listed\n")
    res = CliRunner().invoke(app, ["--config", str(config), "sync", "--json"])
    assert '"status": "partial"' in res.stdout
    assert res.exit_code == 1
