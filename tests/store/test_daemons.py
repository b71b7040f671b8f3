"""Daemon presence for `kith status`: a live heartbeat lease means running; the last beat outlives
the worker; a lease that lapsed (a killed worker) means not running."""

from __future__ import annotations

from datetime import timedelta

from kith.config.load import Config
from kith.config.models import GlobalConfig
from kith.daemon.run import Daemon
from kith.store import daemons, leases
from kith.store.engine import Store
from kith.store.models import utcnow


def test_beat_presence_and_expiry(sqlite_store: Store) -> None:
    now = utcnow()
    with sqlite_store.engine.connect() as conn:
        assert daemons.presence(conn, now=now) == {"running": [], "last_seen": None}
    daemons.beat(sqlite_store.engine, "h:1", timedelta(minutes=1), now=now)
    with sqlite_store.engine.connect() as conn:
        seen = daemons.presence(conn, now=now + timedelta(seconds=30))
        assert [w["worker"] for w in seen["running"]] == ["h:1"] and seen["running"][0]["last_beat"] == now
        gone = daemons.presence(conn, now=now + timedelta(minutes=2))  # no beat for longer than the lease
        assert gone["running"] == [] and gone["last_seen"] == {"worker": "h:1", "at": now}
    leases.release_all(sqlite_store.engine, "h:1")  # a clean stop
    with sqlite_store.engine.connect() as conn:
        assert daemons.presence(conn, now=now)["running"] == []


def test_the_daemon_loop_beats_at_most_three_times_a_lease(sqlite_store: Store) -> None:
    daemon = Daemon(Config(settings=GlobalConfig()))
    daemon.store = sqlite_store
    daemon._beat()
    with sqlite_store.engine.connect() as conn:
        first = daemons.presence(conn)["last_seen"]
    daemon._beat()  # within a third of the lease: no write
    with sqlite_store.engine.connect() as conn:
        assert daemons.presence(conn)["last_seen"] == first
        assert [w["worker"] for w in daemons.presence(conn)["running"]] == [daemon.worker]
    daemon.waker.close()
