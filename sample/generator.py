"""`kith.sample.generate`: a deterministic year of mail and meetings for one person, with truth.

The world is scripted persona by persona (see ``personas``), written as Maildir trees and .ics
files (see ``writer``), and the ground truth is both what the scripts planted and, for corpora up
to ``ORACLE_MAX`` messages, what an independent evaluation of DESIGN.md's rules finds (see
``oracle``); the two must agree or generation fails.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from kith.sample import rhythms
from kith.sample.model import Person, World
from kith.sample.names import company_domain, person
from kith.sample.personas import Ids, Script
from kith.sample.writer import Bodies, make_maildirs, write_calendar, write_message

DEFAULT_NOW = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
ORACLE_MAX = 200_000
#: The flag kinds the sample plants and its oracle finds: the ids of ``kith.analysis.kinds``, which
#: the sample may not import (it is the independent truth the analysis is scored against);
#: ``tests/sample`` fails when a kind is registered there and not here.
FLAG_RULES = ("unanswered", "broadcast_only", "one_sided", "reconnect")
RULES = (*FLAG_RULES, "automated")


@dataclass(frozen=True)
class SampleMailbox:
    name: str
    path: Path
    addresses: tuple[str, ...]
    calendar: Path | None


@dataclass(frozen=True)
class SampleInfo:
    root: Path
    now: datetime
    me: tuple[str, ...]
    mailboxes: tuple[SampleMailbox, ...]
    truth_path: Path
    message_count: int
    event_count: int


@dataclass(frozen=True)
class Truth:
    seed: int
    now: datetime
    me: tuple[str, ...]
    #: flag kind id → what should be flagged: Message-IDs for unanswered, addresses for the rest
    flags: Mapping[str, frozenset[str]]
    automated: frozenset[str]
    human: frozenset[str]
    aliases: dict[str, list[str]]
    stages: dict[str, str]


def load_truth(path: Path) -> Truth:
    d = json.loads(Path(path).read_text())
    return Truth(
        seed=d["seed"],
        now=datetime.fromisoformat(d["now"]),
        me=tuple(d["me"]),
        aliases=d["aliases"],
        stages=d["stages"],
        flags={k: frozenset(d[k]) for k in FLAG_RULES},
        automated=frozenset(d["automated"]),
        human=frozenset(d["human"]),
    )


def build_world(seed: int, messages: int, now: datetime, contacts: int | None) -> World:
    rng = random.Random(seed)
    ids = Ids(random.Random(seed * 7919 + 1))
    me = {
        "work": Person("me@work.example", "Dana Owner"),
        "personal": Person("dana.owner@personal.example", "Dana Owner"),
    }
    w = World(now=now, me=me)
    s = Script(w, rng, ids)
    n_contacts = contacts or max(60, messages // 50)
    taken: set[str] = {p.address for p in me.values()}
    domains = [company_domain(rng) for _ in range(max(8, n_contacts // 15))]

    def people(k: int) -> list[Person]:
        return [person(rng, rng.choice(domains), taken) for _ in range(k)]

    def share(f: float, least: int = 1) -> int:
        return max(least, int(n_contacts * f))

    steady = people(share(0.40, 8))
    bursty = people(share(0.04, 2))
    drifting, drifting_met = people(share(0.07, 2)), people(share(0.02, 1))
    cold, cold_answered = people(share(0.05, 2)), people(share(0.02, 1))
    broadcast = people(share(0.10, 6))
    waiting = {
        v: people(share(f, least))
        for v, f, least in (
            ("plain", 0.06, 3),
            ("recent", 0.01, 1),
            ("cc_only", 0.01, 1),
            ("auto_reply", 0.005, 1),
            ("other_address", 0.01, 1),
            ("new_thread", 0.01, 1),
            ("meeting", 0.01, 1),
            ("flag_only", 0.01, 1),
        )
    }
    senders = [person(rng, f"news.{rng.choice(domains)}", taken) for _ in range(share(0.08, 4))]
    for i, p in enumerate(senders):
        if i % 4 == 1:
            senders[i] = Person(f"noreply{i}@{p.address.split('@')[1]}", p.name)
    bounce = Person("mailer-daemon@mx.work.example", "Mail Delivery System")

    # fixed-size personas first, steady colleagues fill the rest of the message budget
    for p in drifting:
        s.drifting("work" if rng.random() < 0.8 else "personal", p)
    for p in drifting_met:
        s.drifting("work", p, future_meeting=True)
    for p in bursty:
        rhythms.bursty(s, "work", p)
    for p in cold:
        s.cold_outreach("work", p)
    for p in cold_answered:
        s.cold_outreach("work", p, answered=True)
    for variant, group in waiting.items():
        for p in group:
            s.waiting("work", p, variant)
    s.broadcast_campaigns("work", broadcast, campaigns=4)
    for i, p in enumerate(senders):
        s.automated(
            "work", p, ("newsletter", "notification", "list", "newsletter")[i % 4], per_month=rng.choice((1, 2, 4))
        )
    s.automated("work", bounce, "bounce", per_month=0.3)
    for box in me:
        s.noise(box, rng)
    # decoy meetings that must not count: declined, cancelled, too big
    if drifting:
        s.meeting("work", now - timedelta(days=20), (drifting[0],), my_partstat="DECLINED", summary="Declined sync")
        s.meeting("work", now - timedelta(days=15), (drifting[-1],), cancelled=True, summary="Cancelled sync")
        s.meeting("work", now - timedelta(days=10), tuple(steady[:9] + drifting[:1]), summary="All hands")
    # one colleague writes from two addresses, merged by an alias
    alias = Person(steady[0].address.split("@")[0] + "@gmail.example", steady[0].name)
    w.aliases[steady[0].address] = [alias.address]
    s.thread("work", alias, now - timedelta(days=60), 2, inbound_first=True, gap=timedelta(hours=5))

    budget = messages - len(w.messages)
    per_thread = 3.3
    threads_each = max(2, int(budget / per_thread / len(steady)))
    for i, p in enumerate(steady):
        mailbox = "work" if i % 6 else "personal"
        if len(w.messages) >= messages:
            threads_each = 2
        s.steady(mailbox, p, threads_each, steady[:12])
        if i % 3 == 0:
            s.weekly_meeting(mailbox, p)
    return w


def generate(
    out_dir: Path,
    *,
    seed: int = 1,
    messages: int = 2000,
    now: datetime | None = None,
    bodies: Literal["small", "realistic"] = "small",
    contacts: int | None = None,
) -> SampleInfo:
    """Write the sample under ``out_dir`` (``<mailbox>/`` Maildirs, ``<mailbox>.ics``, ``truth.json``)."""
    from kith.sample.oracle import evaluate

    now = now or DEFAULT_NOW
    out_dir = Path(out_dir)
    w = build_world(seed, messages, now, contacts)
    roots = {}
    for box in w.me:
        roots[box] = out_dir / box
        make_maildirs(roots[box])
    body_maker = Bodies(bodies, random.Random(seed))
    w.messages.sort(key=lambda m: (m.date, m.message_id))
    for n, msg in enumerate(w.messages):
        write_message(roots[msg.mailbox], msg, n, seed, body_maker.body())
    events = 0
    calendars = {}
    for box in w.me:
        calendars[box] = out_dir / f"{box}.ics"
        events += write_calendar(calendars[box], w.meetings.get(box, []))

    truth = {rule: sorted(w.intent.get(rule, ())) for rule in RULES}
    if len(w.messages) <= ORACLE_MAX:
        found = evaluate(w)
        for rule in RULES:
            if set(found[rule]) != set(truth[rule]):
                extra = sorted(set(found[rule]) - set(truth[rule]))[:5]
                missing = sorted(set(truth[rule]) - set(found[rule]))[:5]
                raise AssertionError(f"sample seed {seed}: oracle and scripts disagree on {rule}: +{extra} -{missing}")
        human = sorted(found["human"])
    else:
        human = sorted(
            {a for m in w.messages for a in _addresses(m)}
            - set(truth["automated"])
            - {p.address for p in w.me.values()}
        )
    mailboxes = tuple(SampleMailbox(box, roots[box], (w.me[box].address,), calendars[box]) for box in w.me)
    doc = {
        "seed": seed,
        "now": now.isoformat(),
        "messages": len(w.messages),
        "events": events,
        "me": [p.address for p in w.me.values()],
        "mailboxes": [
            {"name": m.name, "path": m.name, "addresses": list(m.addresses), "calendar": f"{m.name}.ics"}
            for m in mailboxes
        ],
        **truth,
        "human": human,
        "aliases": w.aliases,
        "stages": dict(sorted(w.stages.items())),
    }
    truth_path = out_dir / "truth.json"
    truth_path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    return SampleInfo(out_dir, now, tuple(doc["me"]), mailboxes, truth_path, len(w.messages), events)


def _addresses(m: object) -> set[str]:
    from kith.sample.model import Msg

    assert isinstance(m, Msg)
    if m.folder in ("Junk", "Trash", "Drafts"):
        return set()
    return {p.address for p in (m.sender, *m.to, *m.cc, *m.bcc)}
