"""One person's picture for the web app, from their stored interactions: the rules applied again.

The stored statistics say where a contact stands *now*. A person's page also shows how they got
there: interactions per week over two years, the weeks their stage changed, the four parts of
their strength, and their conversations. All of it is computed here, from the contact's rows in
``interactions`` (the analysis' own output), with the same functions the analysis used: no rule
lives in the web app.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from kith.analysis.model import ContactData, Mail, Meeting
from kith.analysis.stages import stage
from kith.analysis.stats import strength_parts
from kith.analysis.timeline import personal_until
from kith.config.models import AnalysisConfig

#: The span of the weekly chart and of the stage history.
WEEKS = 104


class Row(NamedTuple):
    """One stored interaction, with its message's thread and Message-ID (meetings have neither)."""

    at: datetime
    kind: str
    personal: bool
    broadcast: bool
    message_key: str | None
    subject: str | None
    thread_key: str | None
    message_id: str | None


@dataclass(frozen=True, slots=True)
class Week:
    """Personal messages in and out, and meetings held, in the week starting ``start``."""

    start: date
    inbound: int
    outbound: int
    meetings: int


@dataclass(frozen=True, slots=True)
class StageChange:
    """The stage at the end of the week of ``at`` differs from the week before."""

    at: datetime
    before: str | None
    after: str


@dataclass(frozen=True, slots=True)
class Conversation:
    """A thread with this person, newest first on the page."""

    thread: str
    first: datetime
    last: datetime
    #: "in" when their message is the last one, "out" when mine is
    direction: str
    subject: str | None
    #: messages between us in the thread, and all the messages the thread holds
    with_them: int
    size: int
    message_id: str | None


def contact_data(address: str, rows: Iterable[Row]) -> ContactData:
    """The rules' view of a contact rebuilt from its interactions (mail and counted meetings)."""
    mails, meetings = [], []
    for r in rows:
        if r.kind == "meeting":
            meetings.append(Meeting(r.message_key or f"meeting:{r.at.isoformat()}", r.at, True, r.subject))
        else:
            inbound = r.kind == "email_in"
            mails.append(Mail(r.message_key or "", r.at, inbound, r.personal, r.broadcast and not inbound))
    mails.sort(key=lambda m: (m.time, m.key))
    meetings.sort(key=lambda m: m.time)
    return ContactData(address=address, mails=mails, meetings=meetings)


def week_start(t: datetime) -> date:
    """The Monday of ``t``'s week (UTC)."""
    d = t.date()
    return d - timedelta(days=d.weekday())


def weekly(rows: Sequence[Row], now: datetime, weeks: int = WEEKS) -> list[Week]:
    """``weeks`` weeks of personal interactions ending with ``now``'s week, oldest first."""
    last = week_start(now)
    first = last - timedelta(weeks=weeks - 1)
    counts: dict[date, list[int]] = {first + timedelta(weeks=i): [0, 0, 0] for i in range(weeks)}
    for r in rows:
        if r.at > now or not (r.personal or r.kind == "meeting"):
            continue
        slot = counts.get(week_start(r.at))
        if slot is not None:
            slot[0 if r.kind == "email_in" else 1 if r.kind == "email_out" else 2] += 1
    return [Week(d, *c) for d, c in counts.items()]


def stage_history(data: ContactData, cfg: AnalysisConfig, now: datetime, weeks: int = WEEKS) -> list[StageChange]:
    """The weeks in which the contact's stage changed, judged at the end of each week by the
    analysis' own ``stage`` (the last point is ``now`` itself, so it ends on the stored stage)."""
    points = [now - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
    out: list[StageChange] = []
    before: str | None = None
    for t in points:
        if not personal_until(data, t):
            before = None
            continue
        now_stage, _ = stage(data, cfg, t)
        if now_stage != before:
            out.append(StageChange(t, before, now_stage))
            before = now_stage
    return out


def strength_now(data: ContactData, now: datetime) -> dict[str, float]:
    """The four parts of the strength score as the analysis computed it at ``now``."""
    return {k: round(v, 1) for k, v in strength_parts(personal_until(data, now), now).items()}


def conversations(rows: Iterable[Row], sizes: Mapping[str, int]) -> list[Conversation]:
    """Threads with this person, newest first; ``sizes``: messages per thread in the store."""
    threads: dict[str, list[Row]] = {}
    for r in rows:
        if r.kind != "meeting" and r.thread_key:
            threads.setdefault(r.thread_key, []).append(r)
    out = []
    for key, group in threads.items():
        group.sort(key=lambda r: r.at)
        subject = next((r.subject for r in group if r.subject), None)
        out.append(
            Conversation(
                key,
                group[0].at,
                group[-1].at,
                "in" if group[-1].kind == "email_in" else "out",
                subject,
                len(group),
                max(sizes.get(key, 0), len(group)),
                group[-1].message_id,
            )
        )
    out.sort(key=lambda c: (c.last, c.thread), reverse=True)
    return out


def summary(weeks: Sequence[Week]) -> dict[str, Any]:
    """Totals over the chart's span, for its text alternative."""
    return {
        "in": sum(w.inbound for w in weeks),
        "out": sum(w.outbound for w in weeks),
        "meetings": sum(w.meetings for w in weeks),
        "busiest": max(weeks, key=lambda w: w.inbound + w.outbound + w.meetings, default=None),
    }


__all__ = [
    "WEEKS",
    "Conversation",
    "Row",
    "StageChange",
    "Week",
    "contact_data",
    "conversations",
    "stage_history",
    "strength_now",
    "summary",
    "week_start",
    "weekly",
]
