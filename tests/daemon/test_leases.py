"""Leases on both dialects: one holder at a time, takeover after expiry, lost leases are noticed."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from kith.store import leases
from kith.store.engine import Store
from kith.store.models import utcnow

TTL = timedelta(seconds=30)


def test_one_holder_until_expiry_then_takeover(store: Store) -> None:
    e, now = store.engine, utcnow()
    assert leases.acquire(e, "mailbox:a", "w1", TTL, now=now)
    assert not leases.acquire(e, "mailbox:a", "w2", TTL, now=now + timedelta(seconds=10))
    assert leases.acquire(e, "mailbox:a", "w1", TTL, now=now + timedelta(seconds=10)), "re-acquiring renews"
    assert leases.acquire(e, "mailbox:b", "w2", TTL, now=now)
    assert leases.holders(e, prefix="mailbox:", now=now) == {"mailbox:a": "w1", "mailbox:b": "w2"}
    later = now + timedelta(seconds=41)  # w1 renewed at +10 until +40: expired now
    assert leases.acquire(e, "mailbox:a", "w2", TTL, now=later)
    assert not leases.renew(e, "mailbox:a", "w1", TTL, now=later), "w1 must learn it lost the lease"
    leases.release(e, "mailbox:a", "w1")  # not ours any more: a no-op
    assert leases.holders(e, now=later) == {"mailbox:a": "w2"}
    assert leases.release_all(e, "w2") == 2
    assert leases.acquire(e, "mailbox:a", "w1", TTL, now=later)


def test_concurrent_takers_get_exactly_one_winner(store: Store) -> None:
    e, now = store.engine, utcnow()
    leases.acquire(e, "mailbox:x", "old", TTL, now=now - timedelta(minutes=5))  # expired
    for name in ("mailbox:x", "mailbox:fresh"):
        barrier = threading.Barrier(6)
        won: list[str] = []

        def take(holder: str, name: str = name, barrier: threading.Barrier = barrier, won: list[str] = won) -> None:
            barrier.wait()
            if leases.acquire(e, name, holder, TTL, now=now):
                won.append(holder)

        threads = [threading.Thread(target=take, args=(f"w{i}",)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(won) == 1, (name, won)
        assert leases.holders(e, now=now)[name] == won[0]


def test_the_default_clock_is_the_databases_on_postgresql(store: Store) -> None:
    e = store.engine
    # held for a minute while it is checked (a loaded machine may pause for seconds between two
    # statements), then shortened to a second to watch it lapse on the database's clock
    assert leases.acquire(e, "mailbox:c", "w1", timedelta(minutes=1))
    assert not leases.acquire(e, "mailbox:c", "w2", timedelta(minutes=1))
    assert leases.renew(e, "mailbox:c", "w1", timedelta(minutes=1))
    assert leases.holders(e) == {"mailbox:c": "w1"}
    expiry = leases.expires_at(e, "mailbox:c")
    # stored as UTC: a zone mistake is off by whole hours, a slow machine by seconds
    assert expiry is not None and abs((expiry - utcnow()).total_seconds() - 60) < 600, "stored as UTC"
    assert leases.renew(e, "mailbox:c", "w1", timedelta(seconds=1))
    time.sleep(1.1)
    assert leases.holders(e) == {}
    assert leases.acquire(e, "mailbox:c", "w2", timedelta(seconds=1))


def test_a_restarted_worker_frees_the_leases_of_its_dead_predecessor(sqlite_store: Store) -> None:
    import os
    import socket
    import subprocess
    import sys
    from datetime import timedelta

    from kith.store import leases

    host = socket.gethostname()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_holder = f"{host}:{dead.stdout.strip()}"
    engine = sqlite_store.engine
    assert leases.acquire(engine, "mailbox:a", dead_holder, timedelta(minutes=5))
    assert leases.acquire(engine, "mailbox:b", f"{host}:{os.getpid()}", timedelta(minutes=5))
    assert leases.acquire(engine, "mailbox:c", "elsewhere:1", timedelta(minutes=5))
    assert leases.release_dead_local(engine, host) == [dead_holder]
    assert set(leases.holders(engine)) == {"mailbox:b", "mailbox:c"}
