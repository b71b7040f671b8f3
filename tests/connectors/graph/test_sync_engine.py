"""``kith auth`` + ``kith sync`` of a Graph mailbox and Outlook calendar, through the real store.

The fake holds the "work" mailbox and calendar of a ``kith.sample`` world; msal signs in with the
device code against the fake's login endpoints; the SyncEngine builds the sources through the
registry, exactly as the daemon does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kith.connectors.registry import authorize
from kith.daemon.sync import SyncEngine
from kith.sample.generator import build_world
from kith.store.engine import Store
from kith.store.models import EventRow, MailboxRow, MessageLocation, MessageRow, StreamRow
from tests.fakes.graph import FakeGraph, LoginClient
from tests.fixtures.graph import GraphEnv

MAIL_FOLDERS = ("inbox", "sentitems", "archive")


@pytest.fixture
def world_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GraphEnv]:
    world = build_world(3, 600, datetime.now(UTC).replace(microsecond=0), None)
    with FakeGraph(email=world.me["work"].address) as fake:
        fake.mailbox.load_world(world)
        fake.calendar.load_world(world)
        monkeypatch.setattr("kith.connectors.graph.auth.msal_http_client", lambda: LoginClient(fake.url))
        yield GraphEnv(fake, tmp_path / "state")


def _count(store: Store, table: type, *where: object) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())  # type: ignore[arg-type]


def live(env: GraphEnv) -> int:
    return sum(len(env.fake.mailbox.in_folder(f)) for f in MAIL_FOLDERS)


def test_auth_then_sync_mail_and_calendar_incrementally_and_after_expiry(
    world_env: GraphEnv, sqlite_store: Store
) -> None:
    fake = world_env.fake
    mailbox = world_env.mailbox(page_size=50)
    shown: list[str] = []

    def say(message: str) -> None:
        shown.append(message)
        fake.approve(re.search(r"code (\S+)", message).group(1))  # type: ignore[union-attr]

    from kith.connectors.graph.auth import authorize as graph_authorize

    graph_authorize(mailbox, state_dir=world_env.state_dir, say=say)
    assert "devicelogin" in shown[0]
    assert "valid" in authorize(mailbox, state_dir=world_env.state_dir, interactive=False)

    engine = SyncEngine(sqlite_store, state_dir=world_env.state_dir, attempts=2, wait=lambda _rs: 0.0)
    result = engine.sync_mailbox(mailbox)
    assert result.status == "ok", result.error
    n_events = len(fake.calendar.events)
    assert _count(sqlite_store, MessageLocation) == live(world_env) and _count(sqlite_store, EventRow) == n_events
    with sqlite_store.engine.connect() as conn:
        streams = dict(conn.execute(select(StreamRow.name, StreamRow.role)).all())
        automated = conn.execute(select(func.count()).where(MessageRow.list_id.is_not(None))).scalar_one()
    assert streams == {"inbox": "inbox", "sentitems": "sent", "archive": "archive", "graph:calendar": "calendar"}
    assert automated > 0, "List-Id from the $batch header fetch did not reach the store"

    # incremental: adds, moves, deletes, a cancelled meeting
    box = fake.mailbox
    inbox = sorted(box.in_folder("inbox"))
    box.delete(inbox[0])
    box.move(inbox[1], "archive")
    box.add("inbox", message_id="<new@graph.test>", from_=("new@example.org", "New"))
    event = next(iter(fake.calendar.events))
    fake.calendar.cancel(event)
    fake.reset_counts()
    result = engine.sync_mailbox(mailbox)
    assert result.status == "ok", result.error
    assert fake.calls["messages.delta"] == 3 and fake.calls["calendar.delta"] == 1
    assert _count(sqlite_store, MessageLocation) == live(world_env)
    with sqlite_store.engine.connect() as conn:
        assert conn.execute(select(EventRow.cancelled).where(EventRow.provider_key == event)).scalar_one()

    # every delta token expires: each stream resyncs from scratch, nothing doubled, nothing lost
    box.expire_tokens()
    fake.calendar.expire_tokens()
    box.delete(inbox[2])
    messages_before = _count(sqlite_store, MessageRow, MessageRow.deleted_at.is_(None))
    result = engine.sync_mailbox(mailbox)
    assert result.status == "ok", result.error
    assert all(s.resynced for s in result.streams)
    assert _count(sqlite_store, MessageLocation) == live(world_env) and _count(sqlite_store, EventRow) == n_events
    assert _count(sqlite_store, MessageRow, MessageRow.deleted_at.is_(None)) <= messages_before

    # a revoked grant stops the mailbox with the fixing command
    fake.revoke()
    result = engine.sync_mailbox(mailbox)
    assert result.status == "auth" and "kith auth work" in (result.error or "")
    with sqlite_store.engine.connect() as conn:
        assert "kith auth work" in (conn.execute(select(MailboxRow.auth_error)).scalar_one() or "")
