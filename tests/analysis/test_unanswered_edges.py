"""The hand-written edge cases of issue 4, one test each, through the real store and analysis."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from kith.config.models import AnalysisConfig
from kith.store.engine import Store
from tests.analysis.world import ME, ME2, World, ago

ANN = "ann@client.example"


@pytest.fixture
def w(sqlite_store: Store) -> Iterator[World]:
    yield World(sqlite_store)


def test_a_plain_personal_message_waits_after_two_days(w: World) -> None:
    old = w.mail(ANN, when=ago(3))
    young = w.mail("bob@client.example", when=ago(1))
    assert w.waiting() == {old}
    assert young not in w.waiting()


def test_reply_from_a_different_one_of_my_addresses(w: World) -> None:
    q = w.mail(ANN, when=ago(5))
    w.mail(ME2, (ANN,), when=ago(4), reply_to_msg=q, subject="Re: hello", mailbox="home")
    assert w.waiting() == set()


def test_reply_in_a_new_thread(w: World) -> None:
    w.mail(ANN, when=ago(5), subject="contract")
    w.mail(ME, (ANN,), when=ago(4), subject="about that contract (new thread)")
    assert w.waiting() == set()


def test_reply_by_meeting(w: World) -> None:
    w.mail(ANN, when=ago(5))
    w.meeting(ANN, ago(3))
    assert w.waiting() == set()


def test_a_declined_or_future_meeting_is_no_answer(w: World) -> None:
    q = w.mail(ANN, when=ago(5))
    w.meeting(ANN, ago(3), response="DECLINED")
    w.meeting(ANN, ago(-3))
    assert w.waiting() == {q}


def test_my_auto_reply_does_not_count_as_an_answer(w: World) -> None:
    q = w.mail(ANN, when=ago(5))
    w.mail(
        ME,
        (ANN,),
        when=ago(5) + timedelta(minutes=1),
        reply_to_msg=q,
        subject="Out of office",
        auto_submitted="auto-replied",
    )
    assert w.waiting() == {q}


def test_a_thread_where_they_answered_me_last_waits_for_me(w: World) -> None:
    mine = w.mail(ME, (ANN,), when=ago(8), subject="proposal")
    theirs = w.mail(ANN, when=ago(6), reply_to_msg=mine, subject="Re: proposal")
    assert w.waiting() == {theirs}


def test_only_their_latest_message_in_a_thread_waits(w: World) -> None:
    first = w.mail(ANN, when=ago(9))
    second = w.mail(ANN, when=ago(6), reply_to_msg=first, subject="Re: hello")
    assert w.waiting() == {second}


def test_mail_to_a_list_i_am_on(w: World) -> None:
    w.mail("dev@lists.example", ("dev@lists.example",), when=ago(5), list_id="<dev.lists.example>")
    assert w.waiting() == set()
    assert "dev@lists.example" in w.contacts(automated=True)


def test_i_am_only_in_bcc(w: World) -> None:
    w.mail(ANN, ("team@client.example",), bcc=(ME,), when=ago(5))
    assert w.waiting() == set()


def test_cc_counts_only_when_configured(w: World) -> None:
    q = w.mail(ANN, ("boss@client.example",), cc=(ME,), when=ago(5))
    assert w.waiting() == set()
    w.analysis = AnalysisConfig(include_cc=True)
    assert w.waiting() == {q}


def test_a_message_from_myself_to_myself(w: World) -> None:
    w.mail(ME, (ME2,), when=ago(5), subject="note to self")
    assert w.waiting() == set()
    assert w.contacts(automated=None) == {}


def test_a_forwarded_message_is_personal_mail_like_any_other(w: World) -> None:
    fwd = w.mail(ANN, when=ago(5), subject="Fwd: the numbers you asked for")
    assert w.waiting() == {fwd}


def test_timezone_shifted_dates_order_by_the_real_instant(w: World) -> None:
    from datetime import UTC, datetime, timezone

    # their message at 23:30 -10:00 is 09:30 UTC the next day: after my reply at 08:00 UTC
    mine = w.mail(ME, (ANN,), when=datetime(2026, 5, 20, 8, 0, tzinfo=UTC), subject="q")
    theirs_at = datetime(2026, 5, 19, 23, 30, tzinfo=timezone(timedelta(hours=-10)))
    theirs = w.mail(ANN, when=theirs_at, reply_to_msg=mine, subject="Re: q")
    assert w.waiting() == {theirs}


def test_a_date_in_the_future_is_not_trusted(w: World) -> None:
    liar = w.mail(ANN, when=ago(-30), received=ago(10), subject="my clock is wrong")
    assert liar not in w.waiting()
    with w.store.session() as s:
        from kith.analysis.api import timeline

        (only,) = timeline(s, ANN)["interactions"]
    assert only["at"].startswith(ago(10).date().isoformat())  # counted at its arrival time


def test_a_contact_with_two_addresses(w: World) -> None:
    w.analysis = AnalysisConfig(aliases={ANN: ("ann.private@gmail.com",)})
    q = w.mail("ann.private@gmail.com", when=ago(5))
    assert w.waiting() == {q}
    w.mail(ME, (ANN,), when=ago(4), subject="answering on your work address")
    assert w.waiting() == set()
    assert set(w.contacts()) == {ANN}


def test_gmail_dots_and_tags_are_one_address(w: World) -> None:
    q = w.mail("Ann.Private+news@gmail.com", when=ago(5))
    w.mail(ME, ("annprivate@gmail.com",), when=ago(4), subject="hi")
    assert q not in w.waiting()


def test_a_newsletter_a_colleague_sends_by_hand(w: World) -> None:
    crowd = tuple(f"p{i}@example.org" for i in range(30))
    w.mail("carl@colleague.example", crowd, bcc=(ME,), when=ago(6), subject="Team newsletter")
    q = w.mail("carl@colleague.example", when=ago(5), subject="lunch?")
    assert w.waiting() == {q}
    assert w.contacts()["carl@colleague.example"]["automated"] is False


def test_answered_flag_resolves_with_its_reason(w: World) -> None:
    q = w.mail(ANN, when=ago(5))
    assert w.waiting() == {q}
    w.set_flags(q, frozenset({"\\Answered", "\\Seen"}))
    assert w.waiting() == set()
    with w.store.session() as s:
        from kith.analysis.api import flags

        (f,) = flags(s, state="resolved")
    assert "Answered" in f["reason"]


def test_the_same_mail_in_two_mailboxes_counts_once(w: World) -> None:
    mid = w.mail(ANN, (ME, ME2), when=ago(5), message_id="<shared@x>")
    w.mail(ANN, (ME, ME2), when=ago(5), message_id="<shared@x>", mailbox="home")
    assert w.waiting() == {mid}
    c = w.contacts()[ANN]
    assert c["personal_in"] == 1
