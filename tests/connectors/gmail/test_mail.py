"""The Gmail source against the fake Gmail API: requests, labels, history, throttling, crashes, tokens."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from kith.connectors.base import Batch, MessageRecord
from kith.connectors.gmail import make_source
from kith.connectors.gmail.client import BATCH, QuotaBudget
from kith.connectors.gmail.mail import GmailSource
from kith.errors import AuthError, TransientError
from tests.connectors.contract import Replica
from tests.fakes import replica
from tests.fixtures.gmail import GmailEnv


def synced(env: GmailEnv, n: int = 0, **kw: object) -> tuple[GmailSource, Replica]:
    if n:
        env.fake.mailbox.seed(n)
    source = env.source(**kw)  # type: ignore[arg-type]
    rep = Replica().sync(source, source.streams()[0])
    return source, rep


def live_ids(env: GmailEnv) -> set[str]:
    box = env.fake.mailbox
    return {m.id for m in box.messages.values() if not m.labels & {"SPAM", "TRASH", "DRAFT"}}


def test_initial_sync_batches_metadata_and_keeps_labels(gmail_env: GmailEnv) -> None:
    box = gmail_env.fake.mailbox
    box.seed(250)
    spam = box.add_message({"Message-ID": "<spam@x>", "Subject": "win"}, labels=("SPAM",))
    draft = box.add_message({"Message-ID": "<draft@x>", "Subject": "wip"}, labels=("DRAFT",))
    promo = box.add_message(
        {"Message-ID": "<p@x>", "From": "Shop <news@shop.example>", "Subject": "=?utf-8?q?Sale_=E2=82=AC?="},
        labels=("INBOX", "CATEGORY_PROMOTIONS", "STARRED"),
        thread_id="thr-9",
    )
    gmail_env.fake.reset_counts()
    _source, rep = synced(gmail_env)
    assert set(rep.items) == live_ids(gmail_env) and spam not in rep.items and draft not in rep.items
    rec = rep.items[promo]
    assert isinstance(rec, MessageRecord)
    assert rec.thread_id == "thr-9" and rec.subject == "Sale €"
    assert {"CATEGORY_PROMOTIONS", "INBOX", "STARRED"} <= rec.labels
    assert rec.flags == frozenset({"\\Seen", "\\Flagged"})  # no UNREAD label → seen; never \Answered
    assert rec.from_ is not None and rec.from_.address == "news@shop.example"
    assert rec.received is not None and rec.size == 2048
    fetched = 251 + 1  # the draft is fetched (metadata scope cannot filter it in the listing), then dropped
    assert gmail_env.fake.requests["batch"] == math.ceil(fetched / BATCH)
    assert max(gmail_env.fake.batch_sizes) <= BATCH and gmail_env.fake.concurrency_refusals == 0
    # one profile call, one list page, the history replay; nothing else outside the batches
    assert gmail_env.fake.calls["getProfile"] == 1 and gmail_env.fake.calls["messages.list"] == 1
    assert gmail_env.fake.calls["history.list"] == 1
    assert rep.cursor == {"history_id": str(box.history_id)}


def test_no_change_incremental_is_one_request(gmail_env: GmailEnv) -> None:
    source, rep = synced(gmail_env, 40)
    gmail_env.fake.reset_counts()
    rep.sync(source, source.streams()[0])
    assert gmail_env.fake.requests["total"] == 1 and dict(gmail_env.fake.calls) == {"history.list": 1}
    assert rep.upserted == 0


def test_incremental_adds_deletes_and_label_changes(gmail_env: GmailEnv) -> None:
    box = gmail_env.fake.mailbox
    ids = box.seed(6)
    source, rep = synced(gmail_env)
    stream = source.streams()[0]
    new = box.add_message({"Message-ID": "<new@x>", "Subject": "new"})
    box.delete_message(ids[0])
    box.modify_labels(ids[1], add=("STARRED", "Label_7"))
    box.modify_labels(ids[2], add=("TRASH",))  # moved to the bin: leaves the stream
    box.modify_labels(ids[3], remove=("INBOX",))  # archived: stays, labels change
    gmail_env.fake.reset_counts()
    batches = list(source.pull(stream, rep.cursor, rep.known))
    for b in batches:
        rep.apply(b)
    assert gmail_env.fake.calls["messages.get"] == 1, "label changes must not re-fetch messages"
    updates = {fu.provider_key: fu for b in batches for fu in b.flag_updates}
    assert set(updates) == {ids[1], ids[3]}
    assert "\\Flagged" in updates[ids[1]].flags and updates[ids[1]].labels is not None
    assert "Label_7" in updates[ids[1]].labels
    assert updates[ids[3]].labels is not None and "INBOX" not in updates[ids[3]].labels
    assert set(rep.items) == live_ids(gmail_env) and new in rep.items and ids[2] not in rep.items
    # restored from the bin: fetched again
    box.modify_labels(ids[2], remove=("TRASH",))
    rep.sync(source, stream)
    assert ids[2] in rep.items and rep.upserted == 1


def test_changes_during_the_listing_are_caught_by_history_replay(gmail_env: GmailEnv) -> None:
    box = gmail_env.fake.mailbox
    ids = box.seed(30)
    source = gmail_env.source(batch_size=10)
    rep = Replica()
    pull = source.pull(source.streams()[0], None, rep.known)
    rep.apply(next(pull))  # the newest 10 are in
    first_page = set(rep.items)
    gone_early = next(iter(first_page))
    box.delete_message(gone_early)  # already listed: only history can tell
    box.delete_message(ids[0])  # on a later page: simply not listed any more
    box.modify_labels(next(iter(first_page - {gone_early})), add=("STARRED",))
    late = box.add_message({"Message-ID": "<late@x>"})  # newer than the pages already read
    for batch in pull:
        rep.apply(batch)
    assert set(rep.items) == live_ids(gmail_env) and late in rep.items and gone_early not in rep.items


def test_throttled_page_is_retried_not_lost_and_retry_after_honoured(gmail_env: GmailEnv) -> None:
    gmail_env.fake.mailbox.seed(30)
    gmail_env.fake.fail("messages.list", 429, after=1, retry_after="7")
    _source, rep = synced(gmail_env, batch_size=10)
    assert set(rep.items) == live_ids(gmail_env) and len(rep.items) == 30
    assert gmail_env.fake.calls["messages.list"] == 4  # three pages plus the throttled attempt
    assert 7.0 in gmail_env.sleeps, "the server's Retry-After was not waited for"
    assert rep.batches == 3  # three pages (the history replay found nothing), no page skipped or doubled


def test_rate_limited_and_failing_batch_parts_are_retried(gmail_env: GmailEnv) -> None:
    gmail_env.fake.mailbox.seed(120)
    gmail_env.fake.fail("messages.get", 403, reason="userRateLimitExceeded", count=5, after=3)
    gmail_env.fake.fail("messages.get", 429, count=2, after=50, retry_after="2")
    gmail_env.fake.fail("batch", 503, count=1)
    gmail_env.fake.fail("history.list", 500, count=1)
    _source, rep = synced(gmail_env)
    assert set(rep.items) == live_ids(gmail_env) and len(rep.items) == 120
    assert 2.0 in gmail_env.sleeps


def test_persistent_server_errors_become_transient_error(gmail_env: GmailEnv) -> None:
    source, rep = synced(gmail_env, 5)
    gmail_env.fake.fail("history.list", 502, count=100)
    with pytest.raises(TransientError):
        rep.sync(source, source.streams()[0])
    assert gmail_env.fake.calls["history.list"] == 1 + 4  # the initial replay, then every attempt


def test_expired_history_resyncs_exactly(gmail_env: GmailEnv) -> None:
    box = gmail_env.fake.mailbox
    ids = box.seed(12)
    source, rep = synced(gmail_env)
    box.delete_message(ids[4])
    box.expire_history()  # the deletion's history record is gone with the rest
    gmail_env.fake.reset_counts()
    rep.sync(source, source.streams()[0])
    assert set(rep.items) == live_ids(gmail_env) and ids[4] not in rep.items
    assert gmail_env.fake.calls["getProfile"] == 1, "expected a full resync"
    assert len(rep.items) == 11 and rep.cursor == {"history_id": str(box.history_id)}


def test_sigkill_mid_sync_then_resume(gmail_env: GmailEnv, tmp_path: Path) -> None:
    gmail_env.fake.mailbox.seed(30)
    gmail_env.fake.fail("messages.list", None, after=1, delay=60)  # page 2 hangs: the child is mid-sync
    out = tmp_path / "replica.json"
    mailbox = gmail_env.mailbox(batch_size=10, calendar=False)
    state = replica.kill_after_first_batch(
        "tests.connectors.gmail.crash_child",
        mailbox.model_dump_json(),
        str(gmail_env.state_dir),
        str(out),
        replica=out,
        release=gmail_env.fake.release,
    )
    assert len(state["items"]) == 10 and "page_token" in state["cursor"]
    gmail_env.fake.reset_counts()
    source = gmail_env.source(batch_size=10)
    for batch in source.pull(source.streams()[0], state["cursor"]):
        replica.apply(state, batch)
    assert set(state["items"]) == live_ids(gmail_env)
    assert gmail_env.fake.calls["messages.get"] == 20, "the resumed sync re-fetched what the first run had"
    expected = {m.id: dict(m.headers)["Message-ID"] for m in gmail_env.fake.mailbox.messages.values()}
    assert state["items"] == expected


def test_expired_access_token_is_refreshed_and_saved(gmail_env: GmailEnv) -> None:
    token_file = gmail_env.write_token(expired=True)
    before = json.loads(token_file.read_text())["token"]
    source, rep = synced(gmail_env, 3)
    assert gmail_env.fake.token_grants["refresh_token"] == 1
    gmail_env.fake.expire_access_tokens()  # the server drops the token early: 401, refresh, retry
    gmail_env.fake.mailbox.add_message({"Message-ID": "<after@x>"})
    rep.sync(source, source.streams()[0])
    assert len(rep.items) == 4 and gmail_env.fake.token_grants["refresh_token"] == 2
    source.close()
    saved = json.loads(token_file.read_text())
    assert saved["token"] != before and saved["token"] in gmail_env.fake.access_tokens
    assert saved["refresh_token"] == gmail_env.refresh_token
    assert token_file.stat().st_mode & 0o777 == 0o600


def test_revoked_token_is_an_auth_error_naming_the_fix(gmail_env: GmailEnv) -> None:
    source, rep = synced(gmail_env, 2)
    gmail_env.fake.revoke()
    with pytest.raises(AuthError) as err:
        rep.sync(source, source.streams()[0])
    assert err.value.hint is not None and "kith auth work" in err.value.hint
    assert gmail_env.fake.token_grants["refresh_token"] == 1, "a refused refresh must not be retried"


def test_401_after_refresh_is_an_auth_error(gmail_env: GmailEnv) -> None:
    gmail_env.fake.fail("getProfile", 401, count=10)
    with pytest.raises(AuthError):
        synced(gmail_env, 2)
    assert gmail_env.fake.token_grants["refresh_token"] == 1 and gmail_env.fake.calls["getProfile"] == 2


def test_missing_token_file_tells_how_to_authorize(gmail_env: GmailEnv, tmp_path: Path) -> None:
    with pytest.raises(AuthError) as err:
        make_source(gmail_env.mailbox(), state_dir=tmp_path / "elsewhere")
    assert err.value.hint is not None and "kith auth work" in err.value.hint


def test_quota_budget_spaces_out_calls() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    budget = QuotaBudget(250, clock=lambda: now[0], sleep=sleep)
    for _ in range(6):
        budget.spend(500)  # a full 100-message batch
    assert budget.spent == 3000
    # 1000 units of burst, then 250 a second: 2000 more units take 8 seconds
    assert sum(slept) == pytest.approx(8.0)
    off = QuotaBudget(0, sleep=sleep)
    off.spend(10_000)
    assert off.spent == 10_000 and sum(slept) == pytest.approx(8.0)


def test_quota_units_are_counted_like_google_does(gmail_env: GmailEnv) -> None:
    gmail_env.fake.mailbox.seed(150)
    budget = QuotaBudget(0)
    gmail_env.fake.reset_counts()
    source = gmail_env.source(budget=budget)
    Replica().sync(source, source.streams()[0])
    assert budget.spent == gmail_env.fake.units == 1 + 5 + 150 * 5 + 2


def test_batch_fields(gmail_env: GmailEnv) -> None:
    """Every batch of an initial sync carries a cursor a restart can resume from."""
    gmail_env.fake.mailbox.seed(25)
    source = gmail_env.source(batch_size=10)
    batches: list[Batch] = list(source.pull(source.streams()[0], None))
    cursors = [b.cursor for b in batches]
    assert all(c is not None and "history_id" in c for c in cursors)
    assert [("page_token" in c) for c in cursors if c] == [True, True, False]
