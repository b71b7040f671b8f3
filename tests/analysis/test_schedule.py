"""When the clock alone changes a verdict, the analysis is scheduled for that moment, not later:
the unanswered rule counts a message from the moment it is two days old, and reconnect flags a
contact the first moment the silence *exceeds* the threshold (DESIGN), just past it."""

from __future__ import annotations

from datetime import timedelta

from kith.analysis.rules.reconnect import reconnect
from kith.analysis.rules.unanswered import unanswered
from kith.analysis.schedule import next_check
from tests.analysis.rules.build import CFG, NOW, contact, mail_in, mail_out


def test_reconnect_is_checked_again_the_moment_it_is_overdue() -> None:
    # cadence 10 days: threshold 15 days after the last interaction (10 days before NOW)
    data = contact(mail_in("a", 40), mail_out("b", 30), mail_in("c", 20), mail_out("d", 10))
    edge = NOW + timedelta(days=5)
    assert reconnect(contact(*data.mails), CFG, edge) == []  # exactly at the threshold: not yet
    for now in (NOW, edge):  # checked before the edge, and at the edge itself
        t = next_check(contact(*data.mails), CFG, now)
        assert t > now
        assert t - edge < timedelta(seconds=1), (now, t)
        assert reconnect(contact(*data.mails), CFG, t), "overdue at the scheduled check"


def test_unanswered_is_checked_again_the_moment_it_is_two_days_old() -> None:
    data = contact(mail_in("a", 1))
    t = next_check(data, CFG, NOW)
    assert t == NOW + timedelta(days=1)
    assert [f.key for f in unanswered(contact(*data.mails), CFG, t)] == ["unanswered:a"]
