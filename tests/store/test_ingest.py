"""Batch ingest on SQLite and PostgreSQL: idempotent, one message per Message-ID, atomic with its cursor."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from kith.connectors.base import Address, Attendee, Batch, EventRecord, FlagUpdate, MessageRecord, Problem, Role, Stream
from kith.store.engine import Store
from kith.store.ingest import StreamRef, apply_batch, message_key
from kith.store.models import EventAttendee, MessageLocation, MessageParticipant, MessageRow, StreamRow, SyncProblem
from kith.store.state import ensure_mailbox, ensure_streams, known_keys, stream_cursor

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


def rec(key: str, msgid: str | None = "<a@x>", **kw: object) -> MessageRecord:
    base: dict[str, object] = dict(
        provider_key=key,
        message_id=msgid,
        date=T0,
        subject="hi",
        from_=Address("ann@x.com", "Ann"),
        to=(Address("me@x.com"),),
    )
    base.update(kw)
    return MessageRecord(**base)  # type: ignore[arg-type]


def setup(store: Store, *names: str) -> dict[str, StreamRef]:
    with store.engine.begin() as conn:
        mb = ensure_mailbox(conn, "work", "maildir")
        states = ensure_streams(conn, mb, [Stream(n, Role.INBOX if n == "INBOX" else Role.ARCHIVE) for n in names])
    return {s.name: s.ref for s in states}


def count(store: Store, model: type, *where: object) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model).where(*where)).scalar_one())


def apply(store: Store, ref: StreamRef, batch: Batch) -> set[str]:
    with store.engine.begin() as conn:
        return apply_batch(conn, ref, batch).touched


def test_reapplying_a_batch_changes_nothing(store: Store) -> None:
    refs = setup(store, "INBOX")
    batch = Batch(upserts=(rec("1"), rec("2", "<b@x>", cc=(Address("bob@x.com"),))), cursor={"n": 1})
    touched = apply(store, refs["INBOX"], batch)
    assert touched == {"ann@x.com", "me@x.com", "bob@x.com"}
    for _ in range(2):
        apply(store, refs["INBOX"], batch)
    assert count(store, MessageRow) == 2
    assert count(store, MessageLocation) == 2
    assert count(store, MessageParticipant) == 5
    with store.engine.connect() as conn:
        assert stream_cursor(conn, refs["INBOX"].id) == {"n": 1}


def test_one_message_in_two_folders_is_one_message(store: Store) -> None:
    refs = setup(store, "INBOX", "All")
    apply(store, refs["INBOX"], Batch(upserts=(rec("1"),)))
    apply(store, refs["All"], Batch(upserts=(rec("77"),)))
    assert count(store, MessageRow) == 1
    assert count(store, MessageLocation) == 2
    # removed from one folder: still there; removed from both: marked deleted, row kept
    apply(store, refs["INBOX"], Batch(deletions=("1",)))
    assert count(store, MessageRow, MessageRow.deleted_at.is_(None)) == 1
    apply(store, refs["All"], Batch(deletions=("77",)))
    assert count(store, MessageRow, MessageRow.deleted_at.is_(None)) == 0
    assert count(store, MessageRow) == 1
    # moved back in: revived, same row
    apply(store, refs["INBOX"], Batch(upserts=(rec("9"),)))
    assert count(store, MessageRow, MessageRow.deleted_at.is_(None)) == 1


def test_sent_copy_keeps_bcc_when_inbox_copy_lacks_it(store: Store) -> None:
    refs = setup(store, "INBOX", "All")
    sent = rec("s", "<m@x>", from_=Address("me@x.com"), to=(Address("me@x.com"),), bcc=(Address("secret@y.com"),))
    apply(store, refs["All"], Batch(upserts=(sent,)))
    apply(
        store, refs["INBOX"], Batch(upserts=(rec("i", "<m@x>", from_=Address("me@x.com"), to=(Address("me@x.com"),)),))
    )
    assert count(store, MessageParticipant, MessageParticipant.role == "bcc") == 1


def test_messages_without_message_id_get_a_stable_hash_key() -> None:
    a = rec("1", None)
    assert message_key(a) == message_key(rec("2", None))
    assert message_key(a).startswith("hash:")
    assert message_key(a) != message_key(rec("3", None, subject="other"))


def test_flag_updates_and_problems(store: Store) -> None:
    refs = setup(store, "INBOX")
    apply(store, refs["INBOX"], Batch(upserts=(rec("1", flags=frozenset({"\\Seen"})),), versions={"1": "v1"}))
    touched = apply(store, refs["INBOX"], Batch(flag_updates=(FlagUpdate("1", frozenset({"\\Seen", "\\Answered"})),)))
    assert touched == {"ann@x.com", "me@x.com"}
    with store.engine.connect() as conn:
        flags = conn.execute(select(MessageLocation.flags)).scalar_one()
        assert flags == "\\Answered \\Seen"
        assert known_keys(conn, refs["INBOX"].id) == {"1": "v1"}
    apply(store, refs["INBOX"], Batch(problems=(Problem("bad", "empty file"), Problem("bad", "empty file"))))
    assert count(store, SyncProblem) == 1


def test_a_failing_batch_leaves_no_trace_and_keeps_the_old_cursor(store: Store) -> None:
    refs = setup(store, "INBOX")
    apply(store, refs["INBOX"], Batch(upserts=(rec("1"),), cursor={"n": 1}))
    with pytest.raises(RuntimeError), store.engine.begin() as conn:
        apply_batch(conn, refs["INBOX"], Batch(upserts=(rec("2", "<b@x>"),), cursor={"n": 2}))
        raise RuntimeError("crash after the batch was written, before commit")
    assert count(store, MessageRow) == 1
    with store.engine.connect() as conn:
        assert stream_cursor(conn, refs["INBOX"].id) == {"n": 1}


def test_hostile_values_are_stored(store: Store) -> None:
    refs = setup(store, "INBOX")
    weird = rec(
        "1",
        "<ü\x00@x>".replace("\x00", ""),
        subject="\u202eevil\u202c " + "x" * 900,
        from_=Address("a@x.com", "Zoë 🙂"),
        date=None,
        problems=("Date: missing",),
    )
    apply(store, refs["INBOX"], Batch(upserts=(weird,)))
    with store.engine.connect() as conn:
        row = conn.execute(select(MessageRow.subject, MessageRow.problems, MessageRow.date)).one()
    assert row.subject.startswith("\u202eevil") and row.problems == ["Date: missing"] and row.date is None


def test_events_and_attendees_upsert_and_delete(store: Store) -> None:
    with store.engine.begin() as conn:
        mb = ensure_mailbox(conn, "work", "maildir")
        (cal,) = ensure_streams(conn, mb, [Stream("cal", Role.CALENDAR)])
    ev = EventRecord(
        provider_key="e1",
        uid="u1",
        start=T0,
        end=T0,
        attendees=(Attendee("bob@x.com", partstat="ACCEPTED"), Attendee("me@x.com", partstat="ACCEPTED")),
        organizer=Address("bob@x.com"),
    )
    assert apply(store, cal.ref, Batch(upserts=(ev,))) == {"bob@x.com", "me@x.com"}
    apply(store, cal.ref, Batch(upserts=(ev,)))
    assert count(store, EventAttendee) == 2
    assert apply(store, cal.ref, Batch(deletions=("e1",))) == {"bob@x.com", "me@x.com"}
    assert count(store, EventAttendee) == 0


def test_missing_stream_is_retired(store: Store) -> None:
    refs = setup(store, "INBOX", "Old")
    apply(store, refs["Old"], Batch(upserts=(rec("1"),)))
    with store.engine.begin() as conn:
        mb = ensure_mailbox(conn, "work", "maildir")
        ensure_streams(conn, mb, [Stream("INBOX", Role.INBOX)])
        present = dict(conn.execute(select(StreamRow.name, StreamRow.present)).all())
    assert present == {"INBOX": True, "Old": False}
    assert count(store, MessageRow, MessageRow.deleted_at.is_(None)) == 0


def test_every_column_round_trips_through_the_row_tuples(store: Store) -> None:
    """The ingest builds driver tuples itself and converts a column that holds one object
    throughout only once: each value must still come back as the ORM reads it."""
    refs = setup(store, "INBOX")
    other_tz = datetime(2026, 3, 1, 12, 30, tzinfo=UTC).astimezone(ZoneInfo("Asia/Kolkata"))
    full = rec(
        "1",
        "<full@x>",
        thread_id="t-1",
        in_reply_to="<p@x>",
        references=("<o@x>", "<p@x>"),
        date=other_tz,
        received=T0,
        sender=Address("sec@x.com", "Sec"),
        cc=(Address("c1@x.com"), Address("c2@x.com")),
        bcc=(Address("b@x.com"),),
        list_id="<l.x.com>",
        precedence="bulk",
        size=1234,
        problems=("Date: odd",),
        flags=frozenset({"\\Seen", "\\Answered"}),
        labels=frozenset({"b", "a"}),
    )
    same = [rec(str(i), f"<s{i}@x>", date=T0) for i in range(2, 5)]  # one date object throughout
    apply(store, refs["INBOX"], Batch(upserts=(full, *same), versions={"1": "v7"}))
    with store.engine.connect() as conn:
        rows = {r.message_key: r for r in conn.execute(select(MessageRow))}
        locs = {r.provider_key: r for r in conn.execute(select(MessageLocation))}
    r = rows["<full@x>"]
    assert (r.thread_id, r.in_reply_to, r.references) == ("t-1", "<p@x>", ["<o@x>", "<p@x>"])
    assert r.date == other_tz and r.date.utcoffset() == UTC.utcoffset(None) and r.received == T0
    assert (r.from_addr, r.from_name, r.sender_addr, r.list_id, r.precedence) == (
        "ann@x.com",
        "Ann",
        "sec@x.com",
        "<l.x.com>",
        "bulk",
    )
    assert (r.size, r.recipient_count, r.problems, r.deleted_at) == (1234, 4, ["Date: odd"], None)
    assert {x.date for k, x in rows.items() if k != "<full@x>"} == {T0}
    assert len({x.updated_at for x in rows.values()}) == 1 and all(
        x.references is None for k, x in rows.items() if k != "<full@x>"
    )
    assert (locs["1"].flags, locs["1"].labels, locs["1"].version) == ("\\Answered \\Seen", "a b", "v7")
    assert (locs["2"].flags, locs["2"].labels, locs["2"].version) == ("", "", None)
