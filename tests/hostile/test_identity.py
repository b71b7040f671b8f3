"""Findings 6 and 7: a reused Message-ID hid someone's message, and a forged ``From: <me>`` counted
as my reply. Through Dovecot, Maildir and mbox, on SQLite and PostgreSQL: a message that reuses a
stored Message-ID with another From or Date is a message of its own (named as a reused id), in one
mailbox and across two; a From of mine found only in an inbound folder is never my reply, and
``kith status`` counts it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from kith.analysis.api import contacts, flags
from kith.config.load import Config
from kith.store.engine import Store
from kith.store.models import MessageRow
from kith.store.status import mailbox_status
from tests.hostile.corpus import ME, Place, analyze, config_of, message, place, rfc_date, sync

KINDS = ["imap", "maildir", "mbox"]
REAL = "<real-1@ann.example>"


def open_respond(store: Store) -> dict[str, dict]:
    with store.session() as s:
        return {f["contact"]["address"]: f for f in flags(s, kind="unanswered")}


def real_message(now: datetime) -> bytes:
    return message(
        "real",
        sender="Ann <ann@example.org>",
        subject="contract, please confirm",
        date=rfc_date(now - timedelta(days=5)),
        message_id=REAL,
    )


def spam_copy(now: datetime) -> bytes:
    crowd = ", ".join(f"p{i}@spam.example" for i in range(30))
    return message(
        "spam",
        sender="Mallory <mallory@example.net>",
        subject="cheap watches",
        to=f"{ME}, {crowd}",
        date=rfc_date(now - timedelta(days=4)),
        message_id=REAL,
        extra=f"In-Reply-To: {REAL}\r\nReferences: {REAL}\r\n",
    )


@pytest.fixture(params=KINDS)
def box(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Place, Config]:
    """One mailbox of each kind (Dovecot, Maildir, mbox) and the config that has it."""
    where = place(request.param, tmp_path, request)
    return where, config_of(where.config())


def test_a_reused_message_id_in_one_mailbox_hides_nothing(
    box: tuple[Place, Config], store: Store, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    where, config = box
    where.deliver([real_message(now)])
    assert sync(store, where.config(), tmp_path).status == "ok"
    analyze(store, config)
    assert set(open_respond(store)) == {"ann@example.org"}
    where.deliver([spam_copy(now)])
    assert sync(store, where.config(), tmp_path).status == "ok"
    analyze(store, config)
    assert set(open_respond(store)) == {"ann@example.org"}  # the real "respond" stays open
    with store.engine.connect() as conn:
        rows = {r.from_addr: r for r in conn.execute(select(MessageRow.__table__))}
    assert set(rows) == {"ann@example.org", "mallory@example.net"}
    assert rows["ann@example.org"].subject == "contract, please confirm"
    assert rows["ann@example.org"].message_key == REAL and rows["mallory@example.net"].message_key != REAL
    assert any("reused" in p for p in rows["mallory@example.net"].problems)


@pytest.mark.parametrize("kind", KINDS)
def test_a_reused_message_id_in_another_mailbox_is_not_a_copy(
    kind: str, store: Store, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    now = datetime.now(UTC)
    work, home = place(kind, tmp_path, request, "work"), place(kind, tmp_path, request, "home")
    config = config_of(work.config("work"), home.config("home"))
    work.deliver([real_message(now)])
    home.deliver([spam_copy(now)])  # more recipients: it used to win the merge of "copies"
    assert sync(store, work.config("work"), tmp_path).status == "ok"
    assert sync(store, home.config("home"), tmp_path).status == "ok"
    analyze(store, config)
    assert set(open_respond(store)) == {"ann@example.org"}
    # a true copy (same Message-ID, From and Date) in the other mailbox still is one message
    home.deliver([real_message(now)])
    assert sync(store, home.config("home"), tmp_path).status == "ok"
    analyze(store, config)
    with store.session() as s:
        ann = next(c for c in contacts(s) if c["address"] == "ann@example.org")
    assert ann["personal_in"] == 1
    assert set(open_respond(store)) == {"ann@example.org"}


def test_a_forged_from_me_in_the_inbox_is_not_my_reply(box: tuple[Place, Config], store: Store, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    where, config = box
    forged = message(
        "forged",
        sender=f"Me <{ME}>",
        to="ann@example.org",
        subject="Re: contract, please confirm",
        date=rfc_date(now - timedelta(days=3)),
        extra=f"In-Reply-To: {REAL}\r\nReferences: {REAL}\r\n",
    )
    fake_note = message("forged2", sender=ME, to="ann@example.org", date=rfc_date(now - timedelta(days=2)))
    where.deliver([real_message(now), forged, fake_note])
    assert sync(store, where.config(), tmp_path).status == "ok"
    analyze(store, config)
    waiting = open_respond(store)
    assert set(waiting) == {"ann@example.org"}  # neither "answered in the thread" nor "you wrote to them"
    with store.session() as s:
        ann = next(c for c in contacts(s) if c["address"] == "ann@example.org")
    assert ann["personal_out"] == 0
    with store.engine.connect() as conn:
        (status,) = mailbox_status(conn, me=config.my_addresses)
    assert status["forged_from_me"] == 2
    # the same reply from my Sent folder is mine: it answers
    where.deliver([message("mine", sender=ME, to="ann@example.org", date=rfc_date(now - timedelta(days=1)))], "Sent")
    assert sync(store, where.config(), tmp_path).status == "ok"
    analyze(store, config)
    assert open_respond(store) == {}
    with store.engine.connect() as conn:
        (status,) = mailbox_status(conn, me=config.my_addresses)
    assert status["forged_from_me"] == 2
