"""The unanswered rule as a pure function: which findings it makes when the stored flags are known."""

from __future__ import annotations

from datetime import timedelta

from kith.analysis.evaluate import evaluate
from kith.analysis.model import ContactData, Finding, Mail, Meeting
from kith.analysis.rules.unanswered import unanswered
from tests.analysis.rules.build import CFG, NOW, SECOND, at, contact, iso, mail_in, mail_out, meeting


def _data() -> ContactData:
    """Three messages to me: one answered in its thread, one answered by a message in another
    thread, one waiting."""

    def inbound(key: str, days: int, thread: str) -> Mail:
        return Mail(key, NOW - timedelta(days=days), True, True, thread=thread, to_me=True)

    return ContactData(
        address="ann@client.example",
        mails=[
            inbound("a", 20, "t1"),
            inbound("b", 15, "t2"),
            Mail("r", NOW - timedelta(days=12), False, True, thread="t3"),
            inbound("c", 10, "t4"),
        ],
        my_thread_replies={"t1": [NOW - timedelta(days=19)]},
    )


def test_without_the_stored_flags_every_verdict_is_a_finding() -> None:
    found = {f.key: f.reason for f in unanswered(_data(), CFG, NOW)}
    assert found == {
        "unanswered:a": "answered in the thread on 2026-10-13",
        "unanswered:b": "you wrote to them on 2026-10-20",
        "unanswered:c": None,
    }


def test_a_resolved_finding_is_made_only_for_a_stored_flag() -> None:
    found = {f.key: f.reason for f in unanswered(_data(), CFG, NOW, {"unanswered:b", "unanswered:zz"})}
    # the open one always; of the resolved ones only the one a stored flag could take its reason from
    assert found == {"unanswered:b": "you wrote to them on 2026-10-20", "unanswered:c": None}
    assert [f.key for f in unanswered(_data(), CFG, NOW, set())] == ["unanswered:c"]


def test_evaluate_hands_the_stored_flags_to_the_rule() -> None:
    result = evaluate(_data(), CFG, NOW, {"unanswered:a"})
    assert {f.key: f.reason for f in result.findings if f.kind == "unanswered"} == {
        "unanswered:a": "answered in the thread on 2026-10-13",
        "unanswered:c": None,
    }


# --- the edges of DESIGN's definition: "an inbound personal message with me in To … older than
# 2 days (``unanswered_after``: how old it must be before it counts), with no later outbound
# message of mine in the same thread or to that sender, no later meeting with that sender, and
# no \Answered flag"; the latest one from that sender in its thread is the one that waits.


def _one(m: Mail, *rest: Mail | Meeting) -> list[tuple[str, str | None]]:
    data = contact(m, *rest)
    return [(f.key, f.reason) for f in unanswered(data, CFG, NOW)]


def test_a_message_counts_from_the_moment_it_is_two_days_old() -> None:
    # two days old exactly: it counts (the analysis is scheduled for that very moment)
    assert _one(mail_in("a", 2)) == [("unanswered:a", None)]
    young = mail_in("a", 2)
    young.time += SECOND
    assert _one(young) == []


def test_an_open_finding_says_what_waits() -> None:
    m = mail_in("a", 3, thread="t9", subject="contract", message_id="<a@x>")
    [f] = unanswered(contact(m), CFG, NOW)
    assert f == Finding(
        kind="unanswered",
        key="unanswered:a",
        since=at(3),
        evidence={"subject": "contract", "received": iso(3), "thread": "t9", "to_me": True},
        mark="a",
        message_id="<a@x>",
        reason=None,
    )


def test_a_resolved_finding_carries_its_reason_and_no_evidence() -> None:
    [f] = unanswered(contact(mail_in("a", 5), mail_out("r", 4)), CFG, NOW)
    assert (f.reason, f.evidence) == (f"you wrote to them on {at(4).date().isoformat()}", {})


def test_each_reason_it_no_longer_waits() -> None:
    assert _one(mail_in("a", 5), meeting("m", 4)) == [("unanswered:a", f"you met on {at(4).date().isoformat()}")]
    assert _one(mail_in("a", 5, answered=True)) == [("unanswered:a", "marked \\Answered in your mail client")]
    assert _one(mail_in("a", 5, thread="t"), mail_in("b", 4, thread="t")) == [
        ("unanswered:a", "they wrote again in the thread; the newer message is the one waiting"),
        ("unanswered:b", None),
    ]


def test_a_meeting_resolves_it_once_held_not_when_planned() -> None:
    assert _one(mail_in("a", 5), meeting("m", 0)) == [("unanswered:a", f"you met on {NOW.date().isoformat()}")]
    later = meeting("m", 0)
    later.time += SECOND  # one second from now: not held yet
    assert _one(mail_in("a", 5), later) == [("unanswered:a", None)]
    assert _one(mail_in("a", 5), meeting("m", 4, counts=False)) == [("unanswered:a", None)]


def test_the_order_the_history_comes_in_does_not_matter() -> None:
    # newest first, as a loader might hand them over: each lookup must still find what is later
    assert _one(mail_in("b", 4, thread="t"), mail_in("a", 10, thread="t")) == [
        ("unanswered:b", None),
        ("unanswered:a", "they wrote again in the thread; the newer message is the one waiting"),
    ]
    assert _one(mail_in("a", 10), mail_out("r1", 1), mail_out("r0", 20)) == [
        ("unanswered:a", f"you wrote to them on {at(1).date().isoformat()}")
    ]
    assert _one(mail_in("a", 10), meeting("m1", 1), meeting("m0", 20)) == [
        ("unanswered:a", f"you met on {at(1).date().isoformat()}")
    ]
