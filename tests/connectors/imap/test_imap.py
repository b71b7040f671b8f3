"""What is special to IMAP: TLS, login errors, folder roles, cheap no-change passes, faults, IDLE."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kith.connectors.base import Role
from kith.connectors.imap import make_source
from kith.connectors.imap.source import ImapSource
from kith.daemon.sync import SyncEngine
from kith.errors import AuthError, ConfigError, TransientError
from kith.store.engine import Store
from kith.store.models import MessageLocation, MessageRow
from tests.connectors.contract import Replica, messages
from tests.connectors.imap.harness import ImapHarness
from tests.connectors.imap.proxy import CuttingProxy
from tests.fixtures import free_port
from tests.fixtures.dovecot import Dovecot

pytestmark = pytest.mark.integration


@pytest.fixture
def harness(dovecot: Dovecot, tmp_path: Path) -> ImapHarness:
    return ImapHarness(dovecot, tmp_path)


def counts(store: Store) -> tuple[int, int]:
    with store.engine.connect() as conn:
        msgs = conn.execute(
            select(func.count()).select_from(MessageRow).where(MessageRow.deleted_at.is_(None))
        ).scalar_one()
        locs = conn.execute(select(func.count()).select_from(MessageLocation)).scalar_one()
    return int(msgs), int(locs)


# -- TLS and login ---------------------------------------------------------------------------------


@pytest.mark.parametrize("tls", ["starttls", "implicit"])
def test_tls_with_certificate_check(harness: ImapHarness, dovecot: Dovecot, tls: str) -> None:
    port = dovecot.port if tls == "starttls" else dovecot.tls_port
    with ImapSource(harness.config(tls=tls, port=port, host="localhost", ca_file=dovecot.cafile)) as source:
        assert "Work" in [s.name for s in source.streams()]


def test_wrong_ca_fails_naming_the_certificate(harness: ImapHarness, dovecot: Dovecot, tmp_path: Path) -> None:
    other = tmp_path / "other.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=other"),
            *("-keyout", str(tmp_path / "other.key"), "-out", str(other)),
        ],
        check=True,
        capture_output=True,
    )
    source = ImapSource(harness.config(tls="implicit", port=dovecot.tls_port, ca_file=other))
    with pytest.raises(ConfigError, match="certificate") as info:
        source.streams()
    assert "ca_file" in (info.value.hint or "")


def test_wrong_password_is_an_auth_error_with_the_fix(harness: ImapHarness, dovecot: Dovecot, tmp_path: Path) -> None:
    bad = tmp_path / "bad.pw"
    bad.write_text("wrong")
    bad.chmod(0o600)
    source = ImapSource(harness.config(password_file=bad, host=dovecot.penalty_host))
    with pytest.raises(AuthError, match="refused the login") as info:
        source.streams()
    assert "bad.pw" in (info.value.hint or "")


def test_unreachable_server_is_transient(harness: ImapHarness) -> None:
    source = ImapSource(harness.config(port=free_port(), timeout="5s"))
    with pytest.raises(TransientError):
        source.streams()


# -- folders -------------------------------------------------------------------------------------


def test_roles_from_special_use_and_names(harness: ImapHarness, dovecot: Dovecot, tmp_path: Path) -> None:
    with harness.client() as c:
        c.create_folder("Sent Items")  # no SPECIAL-USE: the name says it
        c.create_folder("Projects/Alpha")
    source = make_source(harness.config(), state_dir=tmp_path)
    roles = {s.name: s.role for s in source.streams()}
    assert roles == {
        "INBOX": Role.INBOX,
        "Sent": Role.SENT,
        "Sent Items": Role.SENT,
        "Archive": Role.ARCHIVE,
        "Work": Role.OTHER,
        "Projects/Alpha": Role.OTHER,
    }  # Junk, Trash and Drafts (SPECIAL-USE) are skipped by default; "Projects" has no mail
    source.close()
    source = ImapSource(harness.config(include_roles=("junk",), roles={"Work": "archive"}, exclude=("Sent Items",)))
    roles = {s.name: s.role for s in source.streams()}
    assert roles["Junk"] is Role.JUNK and roles["Work"] is Role.ARCHIVE and "Sent Items" not in roles
    source.close()


# -- cost of passes ------------------------------------------------------------------------------


@pytest.mark.parametrize("condstore", [True, False], ids=["condstore", "fallback"])
def test_no_change_pass_fetches_no_headers(harness: ImapHarness, condstore: bool) -> None:
    harness.deliver(messages(5, "nc"))
    source = harness.source(use_condstore=condstore)
    stream = harness.stream(source)
    rep = Replica().sync(source, stream)
    before = dict(source.stats)
    rep.sync(source, stream)
    after = source.stats
    assert after["fetch_headers"] == before["fetch_headers"], "a no-change pass fetched headers"
    if condstore:  # one NOOP on the folder the pass left selected, and nothing else
        assert after["fetch_flags"] == before.get("fetch_flags", 0)
        assert after["select"] == before["select"]
        assert after.get("status", 0) == before.get("status", 0)
        assert after["noop"] == before.get("noop", 0) + 1
    # a flag change is a FlagUpdate, not a re-fetch
    harness.flag("<nc2@contract.test>")
    rep.sync(source, stream)
    assert rep.upserted == 0
    assert any("\\Answered" in f for f in rep.flags.values())
    assert source.stats["fetch_headers"] == before["fetch_headers"]
    # what another client does to the folder the session keeps selected is seen on the next pass
    harness.deliver(messages(1, "late"))
    harness.delete("<nc3@contract.test>")
    before = dict(source.stats)
    rep.sync(source, stream)
    assert rep.upserted == 1
    if condstore:  # the NOOP told of the change: EXAMINE at once, no STATUS to learn it again
        assert source.stats.get("status", 0) == before.get("status", 0)
        assert source.stats["select"] == before["select"] + 1
    assert "<late0@contract.test>" in rep.message_ids()
    assert "<nc3@contract.test>" not in rep.message_ids()
    before = dict(source.stats)
    rep.sync(source, stream)
    assert rep.upserted == 0 and source.stats["fetch_headers"] == before["fetch_headers"]
    source.close()


# -- resync and faults through the real engine and store -----------------------------------------


def test_uidvalidity_change_resyncs_without_duplicates(harness: ImapHarness, sqlite_store: Store) -> None:
    harness.deliver(messages(6, "uv"))
    engine = SyncEngine(sqlite_store, state_dir=harness.tmp_path, attempts=1)
    cfg = harness.config(folders=("Work",))
    assert engine.sync_mailbox(cfg).status == "ok"
    assert counts(sqlite_store) == (6, 6)
    harness.expire({})
    result = engine.sync_mailbox(cfg)
    assert result.status == "ok", result.error
    assert result.streams[0].resynced
    assert counts(sqlite_store) == (6, 6)
    harness.deliver(messages(1, "uv", start=6))
    assert engine.sync_mailbox(cfg).upserts == 1
    assert counts(sqlite_store) == (7, 7)


def test_connection_dropped_mid_fetch_resumes_without_loss(
    harness: ImapHarness, dovecot: Dovecot, sqlite_store: Store
) -> None:
    n = 400
    dovecot.seed(harness.user, (m.as_bytes() for m in messages(n, "drop")), folder="Work")
    with CuttingProxy((dovecot.host, dovecot.port), after=60_000) as proxy:
        cfg = harness.config(port=proxy.port, folders=("Work",), batch_size=50)
        engine = SyncEngine(sqlite_store, state_dir=harness.tmp_path, attempts=1)
        first = engine.sync_mailbox(cfg)
        assert proxy.cut == 1
        assert first.status == "partial" and "connection lost" in (first.error or "")
        got = counts(sqlite_store)
        assert 0 < got[0] < n, "expected the cut to land mid-sync"
        second = engine.sync_mailbox(cfg)
    assert second.status == "ok", second.error
    assert second.upserts == n - got[0], "the resumed pull re-fetched or skipped messages"
    assert counts(sqlite_store) == (n, n)


def test_retry_inside_one_run_reconnects(harness: ImapHarness, dovecot: Dovecot, sqlite_store: Store) -> None:
    dovecot.seed(harness.user, (m.as_bytes() for m in messages(200, "retry")), folder="Work")
    with CuttingProxy((dovecot.host, dovecot.port), after=30_000) as proxy:
        cfg = harness.config(port=proxy.port, folders=("Work",), batch_size=40)
        result = SyncEngine(sqlite_store, state_dir=harness.tmp_path, attempts=3, wait=lambda rs: 0).sync_mailbox(cfg)
        assert proxy.cut == 1
    assert result.status == "ok", result.error
    assert result.upserts == 200 and counts(sqlite_store) == (200, 200)


# -- push ----------------------------------------------------------------------------------------


def test_idle_wakes_on_new_mail_and_times_out(harness: ImapHarness) -> None:
    with harness.source() as source:
        start = time.monotonic()
        assert source.wait_for_changes(0.4) is False
        assert time.monotonic() - start < 3
        timer = threading.Timer(0.3, harness.deliver, args=(messages(1, "idle"), "INBOX"))
        timer.start()
        try:
            assert source.wait_for_changes(10) is True
        finally:
            timer.join()


@pytest.mark.parametrize("helper", [False, True], ids=["thread", "thread+process"])
def test_fetch_ahead_path_resumes_like_the_sequential_one(
    harness: ImapHarness, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch, helper: bool
) -> None:
    from kith.connectors.imap import pipeline

    monkeypatch.setattr(pipeline, "PARALLEL_MIN", 100)
    monkeypatch.setattr(pipeline, "HELPER_MIN", 100 if helper else 10**9)
    items = messages(300, "par")
    dovecot.seed(harness.user, (m.as_bytes() for m in items), folder="Work")
    source = harness.source(batch_size=50)
    stream = harness.stream(source)
    rep = Replica().sync(source, stream, limit=2)
    assert len(rep.items) == 100
    source.close()
    source = harness.source(batch_size=50)
    rep.sync(source, stream)
    assert rep.upserted == 200
    assert rep.message_ids() == sorted(m.message_id for m in items)
    source.close()


@pytest.mark.parametrize("ahead", ["sequential", "fetch-ahead", "helper-process"])
def test_server_side_session_killed_mid_pull_resumes(
    harness: ImapHarness, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch, ahead: str
) -> None:
    from kith.connectors.imap import pipeline

    monkeypatch.setattr(pipeline, "PARALLEL_MIN", 10**9 if ahead == "sequential" else 10)
    monkeypatch.setattr(pipeline, "HELPER_MIN", 10 if ahead == "helper-process" else 10**9)
    items = messages(300, "kill")
    dovecot.seed(harness.user, (m.as_bytes() for m in items), folder="Work")
    source = harness.source(batch_size=30)
    stream = harness.stream(source)
    rep = Replica()
    with pytest.raises(TransientError, match=r"connection lost|network error"):
        for n, batch in enumerate(source.pull(stream, None, rep.known)):
            rep.apply(batch)
            if n == 1:
                assert dovecot.kill_sessions(harness.user) >= 1
    assert 60 <= len(rep.items) < 300  # what was applied before the cut (fetch-ahead may hold more)
    rep.sync(source, stream)  # the same source reconnects, as the engine's retry does
    assert rep.message_ids() == sorted(m.message_id for m in items)
    assert len(rep.items) == 300
    source.close()


def test_expunges_and_moves_while_a_sync_runs(harness: ImapHarness) -> None:
    items = messages(10, "mv")
    harness.deliver(items)
    source = harness.source(batch_size=3)
    stream = harness.stream(source)
    rep = Replica()
    for n, batch in enumerate(source.pull(stream, None, rep.known)):
        rep.apply(batch)
        if n == 0:
            harness.delete(items[1].message_id)  # already fetched
            harness.delete(items[7].message_id)  # not fetched yet
            with harness.client() as c:
                c.move([harness.uid_of(c, items[4].message_id)], "Archive")
            harness.deliver(messages(1, "mv", start=10))
    rep.sync(source, stream)
    expected = [m.message_id for i, m in enumerate(items) if i not in (1, 4, 7)] + ["<mv10@contract.test>"]
    assert rep.message_ids() == sorted(expected)
    source.close()


def test_changes_made_while_an_incremental_pass_runs_arrive(harness: ImapHarness) -> None:
    """Another client expunges and flags old mail while an incremental pass fetches new mail:
    after the passes that follow, the store has both. (Dovecot here reports them to that very
    pass; the guard for news told inside a FETCH answer is tested on its own in test_units.)"""
    old = messages(6, "dp")
    harness.deliver(old)
    source = harness.source(batch_size=2)
    stream = harness.stream(source)
    rep = Replica().sync(source, stream)
    harness.deliver(messages(6, "dp", start=6))
    for n, batch in enumerate(source.pull(stream, rep.cursor, rep.known)):
        rep.apply(batch)
        if n == 0:
            harness.delete(old[0].message_id)
            harness.flag(old[1].message_id)
    rep.sync(source, stream)
    rep.sync(source, stream)
    assert old[0].message_id not in rep.message_ids()
    assert len(rep.items) == 11
    assert any("\\Answered" in f for f in rep.flags.values())
    source.close()


def test_deleted_folder_leaves_the_streams(harness: ImapHarness) -> None:
    with harness.client() as c:
        c.create_folder("Old")
    with harness.source() as source:
        assert "Old" in [s.name for s in source.streams()]
        with harness.client() as c:
            c.delete_folder("Old")
        assert "Old" not in [s.name for s in source.streams()]


def test_server_without_condstore_is_detected(dovecot_basic: Dovecot, tmp_path: Path) -> None:
    harness = ImapHarness(dovecot_basic, tmp_path)  # the config asks for CONDSTORE; the server has none
    harness.deliver(messages(3, "basic"))
    source = harness.source()
    stream = harness.stream(source)
    rep = Replica().sync(source, stream)
    session = source.session()
    assert not session.condstore and not session.qresync
    harness.flag("<basic1@contract.test>")
    rep.sync(source, stream)
    assert rep.upserted == 0 and any("\\Answered" in f for f in rep.flags.values())
    source.close()


def test_renamed_folder_keeps_its_messages_once(harness: ImapHarness, sqlite_store: Store) -> None:
    harness.deliver(messages(3, "ren"))
    engine = SyncEngine(sqlite_store, state_dir=harness.tmp_path, attempts=1)
    assert engine.sync_mailbox(harness.config()).status == "ok"
    with harness.client() as c:
        c.rename_folder("Work", "Projects")
    result = engine.sync_mailbox(harness.config())
    assert result.status == "ok", result.error
    assert "Projects" in [s.name for s in result.streams] and "Work" not in [s.name for s in result.streams]
    assert counts(sqlite_store) == (3, 3)
