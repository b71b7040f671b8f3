"""SIGKILL `kith run` at 20 random moments of a large initial IMAP sync against Dovecot.

Each kill lands at a random point after the restarted daemon has committed its first batch (so
mid-fetch, mid-batch, mid-commit, between batches): nothing may be lost or stored twice. At the
end the store's locations of the INBOX stream are compared with the server's ``UID SEARCH ALL``.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from imapclient import IMAPClient

from kith.config.secrets import write_private
from kith.store.engine import sqlite_url
from tests.connectors.contract import messages
from tests.daemon.test_run import Kith, kiths, wait_until, write_config
from tests.fixtures.dovecot import PASSWORD, Dovecot

pytestmark = [pytest.mark.integration, pytest.mark.slow]
__all__ = ["kiths"]  # the fixture, shared with test_run

MESSAGES = 10_000
BATCH = 50
KILLS = 20
#: As systemd restarts one service: the same worker id, so the new process takes its own leases
#: back at once (with the default hostname:pid id it would wait for the dead one's to expire).
SAME_WORKER = {"KITH_DAEMON__WORKER_ID": "solo"}


def count(db: Path, sql: str) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:  # no schema yet
        return 0


def stored_messages(db: Path) -> int:
    return count(db, "SELECT count(*) FROM messages")


def test_sigkill_at_20_random_moments_of_an_initial_imap_sync_loses_and_duplicates_nothing(
    tmp_path: Path, kiths: list[Kith], dovecot: Dovecot
) -> None:
    seed = int(os.environ.get("KITH_TEST_SEED") or random.randrange(2**32))  # printed on failure
    rng = random.Random(seed)
    user = dovecot.new_user("kill")
    # from 400 people, as an inbox is (one sender of them all would make each analysis a rebuild)
    mail = [replace(m, from_=f"p{i % 400}@example.org") for i, m in enumerate(messages(MESSAGES, prefix="k"))]
    dovecot.seed(user, [m.as_bytes() for m in mail])
    write_private(tmp_path / "imap.pw", PASSWORD)
    db = tmp_path / "kith.db"
    cfg = write_config(tmp_path, sqlite_url(db), {})
    (tmp_path / "mailboxes.d" / "work.toml").write_text(
        f'kind = "imap"\nhost = "{dovecot.host}"\nport = {dovecot.port}\ntls = "none"\nusername = "{user}"\n'
        f'password_file = "{tmp_path / "imap.pw"}"\nidle = false\nbatch_size = {BATCH}\n'
        'addresses = ["me@example.com"]\n'
    )
    progress: list[int] = [0]
    resumed: list[float] = []
    rates: list[float] = []  # messages per second a run stored between its first batch and the kill
    for i in range(KILLS):
        k = Kith(cfg, env=SAME_WORKER)
        kiths.append(k)
        before = progress[-1]
        t0 = time.monotonic()

        # the restarted daemon resumed and committed a batch: now kill it at a random moment
        def resumed_past(b: int = before) -> bool:
            return stored_messages(db) > b

        # polled often: a resumed sync stores thousands of messages a second here, and every
        # one stored before the kill is one fewer for the kills still to come (polled every
        # 0.1 s, the mailbox ran out before the 19th kill on a fast day)
        wait_until(resumed_past, timeout=20, explain=k.logs, every=0.005)
        resumed.append(round(time.monotonic() - t0, 2))
        t_resumed, at_resume = time.monotonic(), stored_messages(db)
        # up to 0.4 s later, but never so long that this run could use more than half of its
        # share of what is left at the rate seen so far (the mailbox must outlast the kills)
        share = (MESSAGES - at_resume) / (KILLS - i)
        cap = min(0.4, 0.5 * share / max(rates)) if rates else (0.4 if share > 450 else 0.0)
        time.sleep(rng.uniform(0.0, cap))
        assert k.proc.poll() is None, k.logs()
        k.stop(signal.SIGKILL)
        progress.append(stored_messages(db))
        rates.append(max(progress[-1] - at_resume, 1) / max(time.monotonic() - t_resumed, 0.01))
        assert progress[-1] < MESSAGES, f"kill {i + 1}: the sync had already finished (seed {seed}; {progress})"
    k = Kith(cfg, env=SAME_WORKER)
    kiths.append(k)
    wait_until(lambda: stored_messages(db) >= MESSAGES, timeout=30, explain=k.logs)
    wait_until(lambda: count(db, "SELECT count(*) FROM sync_runs WHERE status = 'ok'") >= 1, explain=k.logs)
    code, _took = k.stop()
    assert code == 0, k.logs()
    assert "Traceback" not in k.logs()

    client = IMAPClient(dovecot.host, port=dovecot.port, ssl=False, timeout=30)
    client.login(user, PASSWORD)
    uidvalidity = client.select_folder("INBOX", readonly=True)[b"UIDVALIDITY"]
    server = Counter(f"{uidvalidity}:{uid}" for uid in client.search("ALL"))
    client.logout()
    assert len(server) == MESSAGES
    with sqlite3.connect(db) as conn:
        keys = Counter(
            key
            for (key,) in conn.execute(
                "SELECT l.provider_key FROM message_locations l JOIN streams s ON s.id = l.stream_id"
                " JOIN mailboxes b ON b.id = s.mailbox_id WHERE b.name = 'work' AND s.name = 'INBOX'"
            )
        )
        per_message = conn.execute("SELECT count(*), count(DISTINCT message_key) FROM messages").fetchone()
        killed_runs = conn.execute("SELECT count(*) FROM sync_runs WHERE status = 'running'").fetchone()[0]
    lost = set(server) - set(keys)
    duplicated = {key: n for key, n in keys.items() if n > 1}
    extra = set(keys) - set(server)
    assert not lost, f"{len(lost)} lost (seed {seed}): {sorted(lost)[:10]}"
    assert not duplicated, f"{len(duplicated)} duplicated (seed {seed}): {list(duplicated.items())[:10]}"
    assert not extra, f"{len(extra)} not on the server (seed {seed}): {sorted(extra)[:10]}"
    assert per_message == (MESSAGES, MESSAGES), "one message row per message"
    assert killed_runs == KILLS, "every kill left its run open; no later run was mistaken for it"
    print(f"seed {seed}; stored after each kill: {progress[1:]}; first batch after restart, s: {resumed}")
