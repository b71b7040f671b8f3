"""Statistics at their edges (written apart from test_stats.py, from the same definitions):
nearest-rank percentiles, the 30-day reply horizon, conversations 2 days apart, each strength
part at its ceiling, personal counts each way."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kith.analysis.model import Mail
from kith.analysis.stats import contact_stats, percentile, reply_latencies, strength_parts
from kith.analysis.timeline import personal_until
from tests.analysis.rules.build import NOW, SECOND, at, contact, mail_in, mail_out, meeting


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(10, 0, -1)]  # 10 … 1, unsorted on purpose
    assert percentile(values, 0.9) == 9.0
    assert percentile(values, 0.5) == 5.0
    assert percentile(values, 1.0) == 10.0
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([], 0.9) is None


def test_my_reply_is_my_next_message_within_30_days() -> None:
    assert reply_latencies(contact(mail_in("a", 10), mail_out("b", 10 - 2 / 24))) == ([pytest.approx(2.0)], [])
    late = mail_out("b", 0)
    late.time = at(40) + timedelta(days=30)
    assert reply_latencies(contact(mail_in("a", 40), late))[0] == [pytest.approx(720.0)]
    late.time += SECOND
    assert reply_latencies(contact(mail_in("a", 40), late))[0] == []


def test_their_reply_is_their_next_message_in_the_thread() -> None:
    mine, theirs = reply_latencies(contact(mail_out("a", 10, thread="t"), mail_in("b", 9, thread="t")))
    assert (mine, theirs) == ([], [pytest.approx(24.0)])
    # not in the thread: not a reply
    assert reply_latencies(contact(mail_out("a", 10, thread="t"), mail_in("b", 9, thread="u")))[1] == []


def test_conversations_two_days_apart_are_one_for_the_cadence() -> None:
    items = [mail_in("a", 50), mail_out("b", 48), mail_in("c", 30), mail_out("d", 10)]
    stats = contact_stats(contact(*items), NOW)
    # 50 and 48 days ago are one conversation: they start 50, 30 and 10 days ago, 20 days apart
    assert stats["cadence_days"] == 20.0
    items[1].time = at(47) - SECOND  # more than 2 days after the first: a conversation of its own
    assert contact_stats(contact(*items), NOW)["cadence_days"] == pytest.approx(17.0, abs=0.01)


def test_strength_parts_at_their_ceilings() -> None:
    assert strength_parts([], NOW) == {"recency": 0.0, "frequency": 0.0, "reciprocity": 0.0, "meetings": 0.0}
    busy = [mail_in(f"i{k}", k + 0.5) if k % 2 else mail_out(f"o{k}", k + 0.5) for k in range(48)]
    busy += [meeting(f"e{k}", 10 + k) for k in range(12)]
    parts = strength_parts(personal_until(contact(*busy), NOW), NOW)
    assert parts["frequency"] == pytest.approx(30.0)  # 60 interactions in 90 days: still 30
    assert parts["meetings"] == pytest.approx(15.0)  # 12 meetings in 180 days: still 15
    assert parts["reciprocity"] == pytest.approx(20.0)
    assert parts["recency"] == pytest.approx(35 * 0.5 ** (0.5 / 30))


def test_counts_of_personal_mail_each_way() -> None:
    items = [
        mail_in("a", 5),
        mail_out("b", 4),
        mail_out("c", 3),
        Mail("n", at(2), False, False),
        Mail("x", at(1), True, False),
    ]
    stats = contact_stats(contact(*items), NOW)
    assert (stats["personal_in"], stats["personal_out"], stats["reciprocity"]) == (1, 2, 0.5)
    assert stats["my_reply_median_h"] == pytest.approx(24.0)
    assert stats["my_reply_p90_h"] == pytest.approx(24.0)
