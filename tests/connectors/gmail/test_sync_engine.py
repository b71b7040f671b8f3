"""``kith sync`` of a Gmail mailbox with a Google calendar, through the registry and the real store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from kith.daemon.sync import SyncEngine
from kith.store.engine import Store
from kith.store.models import EventRow, MailboxRow, MessageLocation, StreamRow
from tests.fixtures.gmail import GmailEnv


def _count(store: Store, table: type) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_sync_engine_gmail_and_google_calendar(gmail_env: GmailEnv, sqlite_store: Store) -> None:
    box = gmail_env.fake.mailbox
    ids = box.seed(60)
    start = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    gmail_env.fake.calendar.put_event(
        "primary",
        {
            "id": "ev1",
            "iCalUID": "ev1@google.com",
            "start": {"dateTime": start.isoformat()},
            "end": {"dateTime": (start + timedelta(hours=1)).isoformat()},
            "attendees": [{"email": "me@example.com", "self": True, "responseStatus": "accepted"}],
        },
    )
    mailbox = gmail_env.mailbox(batch_size=25)
    engine = SyncEngine(sqlite_store, state_dir=gmail_env.state_dir, attempts=1)
    result = engine.sync_mailbox(mailbox)
    assert result.status == "ok", result.error
    assert _count(sqlite_store, MessageLocation) == 60 and _count(sqlite_store, EventRow) == 1
    with sqlite_store.engine.connect() as conn:
        streams = dict(conn.execute(select(StreamRow.name, StreamRow.role)).all())
        labels = conn.execute(select(MessageLocation.labels).where(MessageLocation.provider_key == ids[0])).scalar_one()
    assert streams == {"ALL": "all", "google:primary": "calendar"}
    assert "INBOX" in labels or "SENT" in labels
    # changes land incrementally; a revoked grant is reported with the fix
    box.delete_message(ids[1])
    box.modify_labels(ids[0], add=("STARRED",))
    result = engine.sync_mailbox(mailbox)
    assert result.status == "ok" and result.deletions == 1
    assert _count(sqlite_store, MessageLocation) == 59
    gmail_env.fake.revoke()
    gmail_env.fake.mailbox.add_message({"Message-ID": "<x@y>"})
    result = engine.sync_mailbox(mailbox)
    assert result.status == "auth" and "kith auth work" in (result.error or "")
    with sqlite_store.engine.connect() as conn:
        assert "kith auth work" in (conn.execute(select(MailboxRow.auth_error)).scalar_one() or "")


def test_state_dir_token_is_what_make_source_uses(gmail_env: GmailEnv, tmp_path: Path) -> None:
    from kith.connectors.registry import make_calendar_source, make_source

    mailbox = gmail_env.mailbox()
    assert make_source(mailbox, state_dir=gmail_env.state_dir).streams()[0].name == "ALL"
    cal = make_calendar_source(mailbox, state_dir=gmail_env.state_dir)
    assert cal is not None and [s.name for s in cal.streams()] == ["google:primary"]
