"""The stored plan of each mailbox: when it is next due and its failures in a row."""

from __future__ import annotations

from datetime import UTC, datetime

from kith.store.engine import Store
from kith.store.schedule import Due, due_time, due_times, plan
from kith.store.state import ensure_mailbox


def test_a_plan_is_read_back_by_every_worker_and_unknown_mailboxes_are_left_out(store: Store) -> None:
    with store.engine.begin() as conn:
        ensure_mailbox(conn, "home", "imap")
        ensure_mailbox(conn, "work", "gmail")
    assert due_times(store.engine, ["home", "work", "gone"]) == {"home": Due(None, 0), "work": Due(None, 0)}
    when = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)
    plan(store.engine, "home", next_run=when, failures=2)
    due = due_time(store.engine, "home")
    assert due is not None and due.failures == 2
    assert due.next_run is not None and due.next_run.replace(tzinfo=UTC) == when
    assert due_time(store.engine, "gone") is None
