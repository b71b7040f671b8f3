"""Hand-made report data, shaped exactly like ``kith.report.data.build_report`` returns it.

The rendering and delivery tests start from this, so they do not depend on the analysis rules.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from kith import __version__
from kith.analysis.kinds import KINDS
from kith.report.sections import empty_numbers, section


def weeks(day: date, n: int = 12) -> list[dict[str, Any]]:
    start = day - timedelta(days=day.weekday() + 7 * (n - 1))
    return [
        {
            "week_start": (start + timedelta(weeks=i)).isoformat(),
            "personal_in": 5 + (i * 7) % 11,
            "personal_out": 3 + (i * 5) % 9,
            "meetings": i % 4,
            "broadcast_out": i % 2,
        }
        for i in range(n)
    ]


def trend(day: date, n: int = 12) -> list[dict[str, Any]]:
    start = day - timedelta(days=day.weekday() + 7 * (n - 1))
    return [
        {
            "week_start": (start + timedelta(weeks=i)).isoformat(),
            "median_hours": None if i == 3 else 2.0 + (i % 5),
            "replies": 0 if i == 3 else 4,
        }
        for i in range(n)
    ]


def respond_item(i: int, now: datetime, *, name: str = "", subject: str = "", gmail: bool = False) -> dict[str, Any]:
    since = now - timedelta(days=3 + i, hours=i % 5)
    mid = f"<m{i}@example.org>"
    link = (
        {
            "kind": "gmail",
            "url": f"https://mail.google.com/mail/u/0/#all/18c{i:05x}",
            "hint": f"rfc822msgid:{mid[1:-1]}",
        }
        if gmail
        else {"kind": "message_id", "url": None, "hint": f"Message-ID: {mid}"}
    )
    return {
        "flag_id": i + 1,
        "contact": {"address": f"person{i}@example.org", "name": name or f"Person {i}"},
        "subject": subject or f"Question number {i}",
        "since": since.isoformat(),
        "age_days": round((now - since).total_seconds() / 86400, 2),
        "message_id": mid,
        "link": link,
    }


def report_data(
    *,
    day: date = date(2026, 11, 23),
    now: datetime | None = None,
    respond: int = 3,
    max_items: int = 10,
    names: tuple[str, ...] = (),
    subjects: tuple[str, ...] = (),
    sync_problem: bool = False,
    empty: bool = False,
) -> dict[str, Any]:
    now = now or datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=6)
    if empty:
        sections = [section(k.section, [], max_items=max_items) for k in KINDS]
        return {
            "schema": 1,
            "date": day.isoformat(),
            "timezone": "UTC",
            "generated_at": now.isoformat(),
            "kith_version": __version__,
            "recipient": "owner@example.org",
            "empty": True,
            "sections": sections,
            "stage_changes": {"since": None, "total": 0, "items": [], "more": 0},
            "numbers": empty_numbers(),
            "weekly": weeks(day),
            "reply_trend": trend(day),
            "sync": {"healthy": True, "mailboxes": 2, "problems": []},
        }
    items = [
        respond_item(
            i,
            now,
            name=names[i] if i < len(names) else "",
            subject=subjects[i] if i < len(subjects) else "",
            gmail=i % 2 == 0,
        )
        for i in range(respond)
    ]
    items.sort(key=lambda it: it["since"])
    broadcast = [
        {
            "flag_id": 900,
            "contact": {"address": "list-member@example.com", "name": "List Member"},
            "since": (now - timedelta(days=40)).isoformat(),
            "age_days": 40.0,
            "broadcasts": 4,
        }
    ]
    pull = [
        {
            "flag_id": 901,
            "contact": {"address": "quiet@example.com", "name": "Quiet Quentin"},
            "since": (now - timedelta(days=20)).isoformat(),
            "age_days": 20.0,
            "unanswered": 3,
        }
    ]
    reconnect = [
        {
            "flag_id": 902,
            "contact": {"address": "old.friend@example.net", "name": "Old Friend"},
            "since": (now - timedelta(days=5)).isoformat(),
            "age_days": 5.0,
            "last_interaction": (now - timedelta(days=75)).isoformat(),
            "days_since": 75.0,
            "cadence_days": 21.0,
        }
    ]
    numbers = {
        "day": {"personal_in": 4, "personal_out": 2, "meetings": 1, "reply_median_hours": 3.5, "replies": 2},
        "week": {"personal_in": 21, "personal_out": 15, "meetings": 4, "reply_median_hours": 5.0, "replies": 11},
        "reply_median_90d_hours": 4.0,
        "reply_median_90d_count": 80,
    }
    problems = (
        [
            {
                "mailbox": "work",
                "kind": "imap",
                "state": "auth",
                "problem": "the server refused our credentials",
                "fix": "kith auth work",
            }
        ]
        if sync_problem
        else []
    )
    return {
        "schema": 1,
        "date": day.isoformat(),
        "timezone": "UTC",
        "generated_at": now.isoformat(),
        "kith_version": __version__,
        "recipient": "owner@example.org",
        "empty": False,
        "sections": [
            section("respond", items, max_items=max_items),
            section("broadcast_only", broadcast, max_items=max_items),
            section("pull_back", pull, max_items=max_items),
            section("reconnect", reconnect, max_items=max_items),
        ],
        "stage_changes": {
            "since": (day - timedelta(days=1)).isoformat(),
            "total": 2,
            "items": [
                {
                    "contact": {"address": "new@example.com", "name": "New Colleague"},
                    "before": "acquaintance",
                    "after": "build-up",
                    "direction": "up",
                },
                {
                    "contact": {"address": "old.friend@example.net", "name": "Old Friend"},
                    "before": "continuation",
                    "after": "deterioration",
                    "direction": "down",
                },
            ],
            "more": 0,
        },
        "numbers": numbers,
        "weekly": weeks(day),
        "reply_trend": trend(day),
        "sync": {"healthy": not sync_problem, "mailboxes": 2, "problems": problems},
    }
