"""The Outlook calendar source against the fake: calendarView delta, cancellations, expiry, window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kith.connectors.base import EventRecord
from kith.connectors.graph.calendar import STREAM, GraphCalendarSource
from kith.errors import CursorExpired
from tests.connectors.contract import Replica
from tests.fixtures.graph import GraphEnv

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def seed(env: GraphEnv) -> None:
    cal = env.fake.calendar
    cal.put(
        "ev-past",
        start=NOW - timedelta(days=30),
        organizer=("boss@example.com", "Boss"),
        attendees=[("me@example.com", "Me", "accepted"), ("boss@example.com", "Boss", "organizer")],
        my_response="accepted",
    )
    cal.put("ev-mine", start=NOW + timedelta(days=3), attendees=[("x@example.com", "X", "tentativelyAccepted")])
    for k in range(4):
        start = NOW + timedelta(weeks=k)
        cal.put(f"series-{k}", start=start, uid="series@x", series=("series", start), subject="Weekly")
    cal.put("ev-ancient", start=NOW - timedelta(days=800))
    cal.put("ev-far", start=NOW + timedelta(days=400))


def source(env: GraphEnv, *, page_size: int = 100, now: datetime = NOW) -> GraphCalendarSource:
    return env.calendar_source(page_size=page_size, now=now)


def test_initial_calendar_view_over_the_window(graph_env: GraphEnv) -> None:
    seed(graph_env)
    src = source(graph_env, page_size=3)
    assert src.streams() == [STREAM]
    rep = Replica().sync(src, STREAM)
    assert set(rep.items) == {"ev-past", "ev-mine", "series-0", "series-1", "series-2", "series-3"}
    assert rep.batches == 2 and set(graph_env.fake.page_sizes) == {3}
    past = rep.items["ev-past"]
    assert isinstance(past, EventRecord) and past.my_response == "ACCEPTED" and not past.cancelled
    assert past.organizer is not None and past.organizer.address == "boss@example.com"
    assert past.start == NOW - timedelta(days=30) and past.end == past.start + timedelta(minutes=30)
    occ = rep.items["series-2"]
    assert isinstance(occ, EventRecord) and occ.uid == "series@x" and occ.recurrence_id == NOW + timedelta(weeks=2)
    mine = rep.items["ev-mine"]
    assert isinstance(mine, EventRecord) and mine.my_response == "ACCEPTED"  # I organize it
    assert [(a.address, a.partstat) for a in mine.attendees] == [("x@example.com", "TENTATIVE")]
    assert rep.cursor is not None and set(rep.cursor) == {"delta", "window_start"}


def test_calendar_delta_with_cancellations_and_deletions(graph_env: GraphEnv) -> None:
    seed(graph_env)
    src = source(graph_env)
    rep = Replica().sync(src, STREAM)
    cal = graph_env.fake.calendar
    cal.cancel("series-1")
    cal.delete("ev-mine")
    cal.put("ev-new", start=NOW + timedelta(days=1), organizer=("a@example.com", "A"), my_response="declined")
    graph_env.fake.reset_counts()
    rep.sync(src, STREAM)
    assert graph_env.fake.requests["api"] == 1 and rep.upserted == 2
    cancelled = rep.items["series-1"]
    assert isinstance(cancelled, EventRecord) and cancelled.cancelled and cancelled.status == "CANCELLED"
    assert "ev-mine" not in rep.items
    new = rep.items["ev-new"]
    assert isinstance(new, EventRecord) and new.my_response == "DECLINED"
    graph_env.fake.reset_counts()
    (only,) = src.pull(STREAM, rep.cursor, rep.known)  # no change: only Graph's fresh deltaLink is kept
    assert not len(only) and only.cursor is not None and only.cursor != rep.cursor
    assert graph_env.fake.requests["api"] == 1


def test_expired_calendar_token_resyncs_without_duplicates(graph_env: GraphEnv) -> None:
    seed(graph_env)
    src = source(graph_env)
    rep = Replica().sync(src, STREAM)
    graph_env.fake.calendar.delete("series-3")
    graph_env.fake.calendar.expire_tokens()
    with pytest.raises(CursorExpired):
        list(src.pull(STREAM, rep.cursor, rep.known))
    rep.sync(src, STREAM)  # the Replica resyncs from scratch on CursorExpired, like the engine
    assert set(rep.items) == {"ev-past", "ev-mine", "series-0", "series-1", "series-2"}


def test_window_that_slid_too_far_starts_a_fresh_round(graph_env: GraphEnv) -> None:
    seed(graph_env)
    rep = Replica().sync(source(graph_env), STREAM)
    later = source(graph_env, now=NOW + timedelta(days=45))
    with pytest.raises(CursorExpired, match="window"):
        list(later.pull(STREAM, rep.cursor, rep.known))
    rep.sync(later, STREAM)
    assert "ev-past" in rep.items and "ev-far" not in rep.items
