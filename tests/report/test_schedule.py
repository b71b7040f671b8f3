"""When the daemon sends: after the local send time, once per day, never during a backoff."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from kith.config.load import Config
from kith.config.models import GlobalConfig, ReportConfig
from kith.report.api import is_due, local_day, moment_for


def config(**report: object) -> Config:
    base = {"to": "me@example.org", "deliver": "smtp", "timezone": "Europe/Berlin", "send_at": time(7, 0)}
    return Config(settings=GlobalConfig(report=ReportConfig(**(base | report))))  # type: ignore[arg-type]


def test_due_after_the_local_send_time_across_dst() -> None:
    c = config()
    # 05:59 UTC is 06:59 CET: not yet; 06:00 UTC is 07:00 CET: due
    assert not is_due(c, now=datetime(2026, 10, 26, 5, 59, tzinfo=UTC), row=None)
    assert is_due(c, now=datetime(2026, 10, 26, 6, 0, tzinfo=UTC), row=None)
    # in summer time 07:00 local is 05:00 UTC
    assert is_due(c, now=datetime(2026, 10, 24, 5, 0, tzinfo=UTC), row=None)
    assert not is_due(c, now=datetime(2026, 10, 24, 4, 59, tzinfo=UTC), row=None)


def test_the_local_day_not_the_utc_day() -> None:
    c = config(timezone="Pacific/Auckland")
    now = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)  # already the 24th in Auckland
    assert local_day(c, now).isoformat() == "2026-11-24"
    assert moment_for(c, local_day(c, now), now) == now
    past = moment_for(c, local_day(c, now) - timedelta(days=3), now)
    assert past == datetime(2026, 11, 20, 18, 0, tzinfo=UTC)  # 07:00 NZDT on the 21st


def test_not_due_when_sent_sending_or_backing_off() -> None:
    c = config()
    now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    assert not is_due(c, now=now, row={"status": "sent", "next_attempt_at": None})
    assert not is_due(c, now=now, row={"status": "sending", "next_attempt_at": now + timedelta(minutes=3)})
    assert is_due(c, now=now, row={"status": "sending", "next_attempt_at": now - timedelta(seconds=1)})
    assert not is_due(c, now=now, row={"status": "failed", "next_attempt_at": now + timedelta(minutes=3)})
    assert is_due(c, now=now, row={"status": "failed", "next_attempt_at": now})
    assert is_due(c, now=now, row={"status": "pending", "next_attempt_at": None})
    assert not is_due(config(deliver="none"), now=now, row=None)
