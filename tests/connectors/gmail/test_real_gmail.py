"""The Gmail and Calendar sources against what the real services do that a polite fake would not.

Each test names the behaviour of ``tests/fakes/gmail`` it meets (sources are cited there).
"""

from __future__ import annotations

import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

from kith.connectors.base import MessageRecord
from kith.connectors.gmail.client import BATCH
from kith.errors import AuthError
from tests.connectors.contract import Replica
from tests.fixtures.gmail import GmailEnv


def sync(env: GmailEnv) -> tuple[Replica, object]:
    source = env.source()
    return Replica().sync(source, source.streams()[0]), source


def test_history_page_without_history_keeps_the_cursor_and_pages_on(gmail_env: GmailEnv) -> None:
    """lieer #22/#24: a page with ``nextPageToken`` and no ``history`` (was an IndexError)."""
    box = gmail_env.fake.mailbox
    box.seed(3)
    rep, source = sync(gmail_env)
    new = box.add_message({"Message-ID": "<after-gap@x>", "Subject": "late"})
    box.empty_history_pages = 2
    rep.sync(source, source.streams()[0])  # type: ignore[attr-defined]
    assert new in rep.items and rep.cursor == {"history_id": str(box.history_id)}
    assert box.empty_history_pages == 0, "the empty pages were not followed"


def test_history_without_label_ids_still_sees_a_move_to_trash(gmail_env: GmailEnv) -> None:
    """History messages with only ``id`` and ``threadId``: unknown labels are fetched, not read as none."""
    box = gmail_env.fake.mailbox
    ids = box.seed(4)
    rep, source = sync(gmail_env)
    box.history_label_ids = False
    box.modify_labels(ids[0], add=("TRASH",))  # moved to the bin
    box.modify_labels(ids[1], add=("STARRED",))  # a plain label change
    box.modify_labels(ids[2], remove=("INBOX",))  # archived
    rep.sync(source, source.streams()[0])  # type: ignore[attr-defined]
    assert ids[0] not in rep.items, "a move to Trash was missed"
    assert "\\Flagged" in rep.flags[ids[1]]
    starred = rep.items[ids[1]]
    assert isinstance(starred, MessageRecord) and "STARRED" in starred.labels
    archived = rep.items[ids[2]]
    assert isinstance(archived, MessageRecord) and "INBOX" not in archived.labels


def test_batches_stay_under_the_per_user_concurrency(gmail_env: GmailEnv) -> None:
    """Parts past a few concurrent ones get 429 "Too many concurrent requests for user"."""
    gmail_env.fake.mailbox.seed(300)
    rep, _ = sync(gmail_env)
    assert len(rep.items) == 300
    assert gmail_env.fake.concurrency_refusals == 0, "batches were larger than Gmail runs at once"
    assert max(gmail_env.fake.batch_sizes) == BATCH


def test_refused_parts_alone_are_retried_in_smaller_batches(gmail_env: GmailEnv) -> None:
    gmail_env.fake.mailbox.seed(60)
    gmail_env.fake.concurrent_limit = 10  # a user whose other clients take part of the budget
    rep, source = sync(gmail_env)
    assert len(rep.items) == 60
    assert gmail_env.fake.calls["messages.get"] == 60, "parts that had succeeded were asked for again"
    assert gmail_env.fake.concurrency_refusals > 0
    assert source.client.batch_size < BATCH  # type: ignore[attr-defined]


def test_metadata_scope_refuses_q_and_full_format_and_kith_needs_neither(gmail_env: GmailEnv) -> None:
    gmail_env.fake.mailbox.seed(5)
    token = next(iter(gmail_env.fake.access_tokens))
    for query in ("messages?q=in:inbox", "messages/" + next(iter(gmail_env.fake.mailbox.messages))):
        req = urllib.request.Request(
            gmail_env.fake.url + "gmail/v1/users/me/" + query, headers={"Authorization": f"Bearer {token}"}
        )
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=5)
        assert err.value.code == 403
    rep, _ = sync(gmail_env)
    assert len(rep.items) == 5


def test_metadata_headers_are_asked_for_as_mail_spells_them(gmail_env: GmailEnv) -> None:
    """The fake matches ``metadataHeaders`` by exact name: ``Message-Id`` does not find ``Message-ID``."""
    box = gmail_env.fake.mailbox
    a = box.add_message(
        [
            ("Message-ID", "<rfc@x>"),
            ("In-Reply-To", "<parent@x>"),
            ("List-Id", "Team <team.example.org>"),
            ("Auto-Submitted", "auto-generated"),
            ("Return-Path", "<>"),
            ("Reply-To", "desk@example.org"),
        ],
        record=False,
    )
    b = box.add_message([("Message-Id", "<postfix@x>"), ("CC", "c@example.org")], record=False)
    rep, _ = sync(gmail_env)
    first, second = rep.items[a], rep.items[b]
    assert isinstance(first, MessageRecord) and isinstance(second, MessageRecord)
    assert first.message_id == "<rfc@x>" and first.in_reply_to == "<parent@x>"
    assert first.list_id is not None and "team.example.org" in first.list_id
    assert first.auto_submitted == "auto-generated" and first.return_path == ""
    assert first.reply_to and first.reply_to[0].address == "desk@example.org"
    assert second.message_id == "<postfix@x>" and second.cc and second.cc[0].address == "c@example.org"


def test_testing_status_grant_dies_after_7_days_and_the_error_says_publish(gmail_env: GmailEnv) -> None:
    gmail_env.fake.testing_status = True
    gmail_env.write_token(expired=True, consented=datetime.now(UTC) - timedelta(days=8))
    gmail_env.fake.mailbox.seed(2)
    with pytest.raises(AuthError) as err:
        sync(gmail_env)
    hint = err.value.hint or ""
    assert "Testing" in hint and "Publish app" in hint and "kith auth work" in hint


def test_a_fresh_testing_grant_still_works(gmail_env: GmailEnv) -> None:
    gmail_env.fake.testing_status = True
    gmail_env.write_token(expired=True, consented=datetime.now(UTC) - timedelta(days=2))
    gmail_env.fake.mailbox.seed(2)
    rep, _ = sync(gmail_env)
    assert len(rep.items) == 2


def test_calendar_403_rate_limit_is_retried_like_429(gmail_env: GmailEnv) -> None:
    """Calendar answers ``403 rateLimitExceeded`` (usageLimits) as well as 429."""
    gmail_env.fake.calendar.put_event(
        "primary",
        {
            "id": "ev1",
            "iCalUID": "ev1@google.com",
            "start": {"dateTime": datetime.now(UTC).isoformat()},
            "end": {"dateTime": (datetime.now(UTC) + timedelta(hours=1)).isoformat()},
        },
    )
    gmail_env.fake.fail("events.list", 403, reason="rateLimitExceeded", count=2, retry_after="3")
    source = gmail_env.calendar_source()
    rep = Replica().sync(source, source.streams()[0])
    assert set(rep.items) == {"ev1"} and 3.0 in gmail_env.sleeps
