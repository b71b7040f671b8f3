"""Which stored message a record is, without a database (DESIGN "A message", Store: "keyed by
normalised Message-ID, else a stable hash").

A message without a Message-ID is keyed by a digest of the headers that identify it. Two
messages that differ in any one of them are two messages; two copies of one message (the same
headers, another folder) are one. When nothing identifies it, the copy itself (its provider key)
is the identity, so two empty messages are never merged into one.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from kith.connectors.base import Address, Batch, MessageRecord
from kith.store.engine import Store
from kith.store.identity import identity, message_key, reused_key
from kith.store.models import MessageRow
from tests.store.test_ingest import apply, count, rec, setup

T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
BASE = MessageRecord(
    provider_key="INBOX/1",
    message_id=None,
    date=T0,
    subject="lunch?",
    from_=Address("ann@x.example"),
    to=(Address("me@y.example"),),
    cc=(Address("bob@z.example"),),
    in_reply_to="<q@x.example>",
)


def test_a_message_id_is_the_key_as_it_is() -> None:
    assert message_key(replace(BASE, message_id="<a@x.example>")) == "<a@x.example>"


def test_without_a_message_id_the_key_is_a_stable_digest() -> None:
    key = message_key(BASE)
    assert key.startswith("hash:") and len(key) == len("hash:") + 40
    # another copy of the same message (another folder, other flags) is the same message
    assert message_key(replace(BASE, provider_key="Archive/7", flags=frozenset({"\\Seen"}))) == key


@pytest.mark.parametrize(
    "change",
    [
        {"date": T0 + timedelta(seconds=1)},
        {"date": None},
        {"from_": Address("mallory@x.example")},
        {"from_": None},
        {"subject": "lunch!"},
        {"subject": None},
        {"to": (Address("me2@y.example"),)},
        {"to": ()},
        {"cc": (Address("carl@z.example"),)},
        {"cc": ()},
        {"in_reply_to": "<other@x.example>"},
        {"in_reply_to": None},
    ],
    ids=lambda c: "-".join(f"{k}={v!r}" for k, v in c.items()),
)
def test_two_messages_differing_in_one_identifying_header_are_two(change: dict[str, object]) -> None:
    assert message_key(replace(BASE, **change)) != message_key(BASE)  # type: ignore[arg-type]


def test_every_recipient_counts_not_only_the_first() -> None:
    two = replace(BASE, to=(Address("me@y.example"), Address("al@y.example")))
    assert message_key(two) != message_key(BASE)
    cc2 = replace(BASE, cc=(Address("bob@z.example"), Address("cy@z.example")))
    assert message_key(cc2) != message_key(BASE)


def test_the_parts_are_kept_apart() -> None:
    # the same text in To instead of Cc is another message (a digest of the parts run together
    # could not tell them apart)
    to_only = replace(BASE, to=(Address("bob@z.example"),), cc=())
    cc_only = replace(BASE, to=(), cc=(Address("bob@z.example"),))
    assert message_key(to_only) != message_key(cc_only)
    subject_only = replace(BASE, subject="<q@x.example>", in_reply_to=None)
    reply_only = replace(BASE, subject=None, in_reply_to="<q@x.example>")
    assert message_key(subject_only) != message_key(reply_only)


def test_a_message_with_nothing_that_identifies_it_is_its_copy() -> None:
    empty = MessageRecord(provider_key="INBOX/1", message_id=None, date=None)
    other = replace(empty, provider_key="INBOX/2")
    assert message_key(empty) != message_key(other)
    assert message_key(empty) == message_key(replace(empty, flags=frozenset({"\\Seen"})))
    # a message with any header is keyed by it, not by where it is
    dated = replace(empty, date=T0)
    assert message_key(dated) == message_key(replace(dated, provider_key="INBOX/2"))


def test_identity_is_from_and_date() -> None:
    assert identity(BASE) == ("ann@x.example", T0)
    assert identity(replace(BASE, from_=None, date=None)) == ("", None)
    assert identity(replace(BASE, subject="other", to=())) == identity(BASE)


def test_a_reused_id_gets_a_key_of_its_own_per_from_and_date() -> None:
    key = reused_key("<a@x.example>", ("mallory@x.example", T0))
    assert key.startswith("<a@x.example>~") and len(key) == len("<a@x.example>~") + 20
    assert key == reused_key("<a@x.example>", ("mallory@x.example", T0))
    assert key != reused_key("<a@x.example>", ("eve@x.example", T0))
    assert key != reused_key("<a@x.example>", ("mallory@x.example", T0 + timedelta(seconds=1)))
    assert key != reused_key("<a@x.example>", ("mallory@x.example", None))
    assert key != reused_key("<b@x.example>", ("mallory@x.example", T0))
    # a huge id is cut so that the key fits its column (1000 characters)
    long = reused_key("<" + "a" * 2000 + ">", ("", None))
    assert len(long) == 960 + 1 + 20


def test_text_that_is_not_valid_unicode_still_keys() -> None:
    # the sanitizer removes lone surrogates at the connector boundary; were one to get through,
    # the key is still made (never an exception that stops the stream)
    odd = replace(BASE, subject="lunch \ud800", from_=Address("ann\udcff@x.example"))
    assert message_key(odd).startswith("hash:")
    assert reused_key("<a@x.example>", ("m\ud800@x.example", T0)).startswith("<a@x.example>~")


def test_copies_of_a_message_without_from_are_one_message(sqlite_store: Store) -> None:
    """The stored From of a message without one is empty, and so is the From of its next copy:
    the same Message-ID and Date with no From on either side is the same message, not a reuse."""
    refs = setup(sqlite_store, "INBOX", "All")
    apply(sqlite_store, refs["INBOX"], Batch(upserts=(rec("1", from_=None),)))
    apply(sqlite_store, refs["All"], Batch(upserts=(rec("9", from_=None),)))
    assert count(sqlite_store, MessageRow) == 1
    # and one with a From is another message under that id
    apply(sqlite_store, refs["All"], Batch(upserts=(rec("10"),)))
    assert count(sqlite_store, MessageRow) == 2


def test_the_digest_is_the_one_stored_keys_were_made_with() -> None:
    """Keys are stored: a digest that changed between versions would make every message without
    a Message-ID a new message on the next sync. The digest is SHA-1 of From, Date (ISO),
    Subject, To, Cc and In-Reply-To joined by US (0x1F), addresses of a list joined by commas."""
    parts = ["ann@x.example", T0.isoformat(), "lunch?", "me@y.example", "bob@z.example", "<q@x.example>"]
    assert message_key(BASE) == "hash:" + hashlib.sha1("\x1f".join(parts).encode()).hexdigest()
    two = replace(BASE, to=(Address("me@y.example"), Address("al@y.example")))
    parts[3] = "me@y.example,al@y.example"
    assert message_key(two) == "hash:" + hashlib.sha1("\x1f".join(parts).encode()).hexdigest()
