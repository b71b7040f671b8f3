"""Message identity (DESIGN "A message"): one Message-ID with the same From and Date is one
message; the same id with another From or Date is another message, recorded as a reused id. On
SQLite and PostgreSQL, through ``apply_batch``."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from kith.connectors.base import Address, Batch, Role, Stream
from kith.store.engine import Store
from kith.store.identity import reused_key
from kith.store.models import MessageLocation, MessageRow
from kith.store.state import ensure_mailbox, ensure_streams
from tests.store.test_ingest import T0, apply, count, rec, setup


def rows(store: Store) -> dict[str, MessageRow]:
    with store.engine.connect() as conn:
        return {r.message_key: r for r in conn.execute(select(MessageRow.__table__))}


def test_another_from_or_another_date_is_another_message(store: Store) -> None:
    refs = setup(store, "INBOX")
    apply(store, refs["INBOX"], Batch(upserts=(rec("1"),)))
    apply(store, refs["INBOX"], Batch(upserts=(rec("2", from_=Address("mallory@y.com"), subject="spam"),)))
    apply(store, refs["INBOX"], Batch(upserts=(rec("3", date=T0 + timedelta(seconds=1), subject="later"),)))
    found = rows(store)
    assert len(found) == 3
    first = found["<a@x>"]
    assert (first.from_addr, first.subject) == ("ann@x.com", "hi")  # never overwritten
    assert found[reused_key("<a@x>", ("mallory@y.com", T0))].subject == "spam"
    later = found[reused_key("<a@x>", ("ann@x.com", T0 + timedelta(seconds=1)))]
    assert later.subject == "later" and any("reused" in p for p in later.problems)
    assert first.problems is None


def test_true_copies_are_one_message_in_folders_batches_and_mailboxes(store: Store) -> None:
    refs = setup(store, "INBOX", "All")
    # one batch holding two copies, then a third in another folder, then one in another mailbox
    apply(store, refs["INBOX"], Batch(upserts=(rec("1"), rec("1b"))))
    apply(store, refs["All"], Batch(upserts=(rec("9", to=(Address("me@x.com"), Address("bob@x.com"))),)))
    with store.engine.begin() as conn:
        home = ensure_mailbox(conn, "home", "maildir")
        (other,) = ensure_streams(conn, home, [Stream("INBOX", Role.INBOX)])
    apply(store, other.ref, Batch(upserts=(rec("h1", date=T0.astimezone(None)),)))  # same instant, other zone
    assert set(rows(store)) == {"<a@x>"}
    assert count(store, MessageRow) == 2 and count(store, MessageLocation) == 4  # one row per mailbox


def test_the_first_message_with_an_id_owns_it_in_every_mailbox(store: Store) -> None:
    refs = setup(store, "INBOX")
    apply(store, refs["INBOX"], Batch(upserts=(rec("1"),)))
    with store.engine.begin() as conn:
        home = ensure_mailbox(conn, "home", "maildir")
        (other,) = ensure_streams(conn, home, [Stream("INBOX", Role.INBOX)])
    # the other mailbox sees the stranger's copy first, then the real one
    spam = rec("s", from_=Address("mallory@y.com"))
    apply(store, other.ref, Batch(upserts=(spam, rec("r"))))
    with store.engine.connect() as conn:
        keys = sorted(conn.execute(select(MessageRow.message_key, MessageRow.mailbox_id)).all())
    assert keys == sorted([("<a@x>", 1), ("<a@x>", home), (reused_key("<a@x>", ("mallory@y.com", T0)), home)])


def test_a_message_synced_again_from_its_location_stays_itself(store: Store) -> None:
    """A newer parser may read a Date differently: the same provider item is the same message."""
    refs = setup(store, "INBOX")
    apply(store, refs["INBOX"], Batch(upserts=(rec("1"),)))
    apply(store, refs["INBOX"], Batch(upserts=(rec("1", date=None, subject="read again"),)))
    found = rows(store)
    assert set(found) == {"<a@x>"} and found["<a@x>"].subject == "read again"


def test_a_reused_key_stays_in_the_column() -> None:
    long_id = "<" + "x" * 996 + ">"
    assert len(reused_key(long_id, ("a@b", T0))) <= 1000
