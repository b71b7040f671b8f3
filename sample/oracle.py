"""The reference evaluation of DESIGN.md's rules over a generated ``World``: the ground truth.

Written to be obviously right rather than fast: plain loops over plain values, one rule per
function, the thresholds of DESIGN.md as constants. It shares no code with ``kith.analysis``, so
the quality tests compare two independent readings of the same rules.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from datetime import datetime, timedelta
from statistics import median

from kith.sample.model import Meeting, Msg, World

UNANSWERED_AFTER = timedelta(days=2)
PERSONAL_MAX = 10
BROADCAST_MIN = 10
MERGE_MIN, MERGE_WINDOW = 5, timedelta(hours=24)
BROADCAST_ONLY_WINDOW, BROADCAST_ONLY_MIN = timedelta(days=180), 3
ONE_SIDED_MIN, ONE_SIDED_SPAN = 3, timedelta(days=14)
RECONNECT_MIN, YEAR = 4, timedelta(days=365)
RECONNECT_FLOOR, RECONNECT_FACTOR, RECONNECT_CAP = timedelta(days=14), 1.5, timedelta(days=60)
CONVERSATION_GAP = timedelta(days=2)
MEETING_MAX = 8
AUTOMATED_SHARE = 0.9
SKIPPED = {"Junk", "Trash", "Drafts"}
_NOREPLY = re.compile(r"^(no-?reply|do-?not-?reply|mailer-daemon|postmaster|bounces?)([+.\-_].*)?$|^noreply\d*$")
_PREFIX = re.compile(r"^\s*((re|fwd?|aw|wg)\s*:\s*)+", re.I)


def is_automated(m: Msg) -> bool:
    h = {k.lower(): v for k, v in m.headers}
    if {"list-id", "list-unsubscribe", "list-post"} & h.keys():
        return True
    if h.get("precedence", "").lower() in ("bulk", "list", "junk"):
        return True
    if h.get("auto-submitted", "no").lower() != "no":
        return True
    if h.get("return-path") == "<>":
        return True
    return bool(_NOREPLY.match(m.sender.address.split("@")[0]))


def norm_subject(s: str) -> str:
    return " ".join(_PREFIX.sub("", s).lower().split())


def occurrences(meeting: Meeting) -> list[datetime]:
    n = meeting.weekly_count or 1
    return [meeting.start + timedelta(weeks=i) for i in range(n)]


def counts(meeting: Meeting) -> bool:
    return meeting.my_partstat == "ACCEPTED" and not meeting.cancelled and len(meeting.attendees) <= MEETING_MAX


def evaluate(w: World) -> dict[str, list[str]]:
    me = {p.address for p in w.me.values()}
    canon = {alias: c for c, aliases in w.aliases.items() for alias in aliases}

    def c(address: str) -> str:
        return canon.get(address, address)

    msgs = [m for m in w.messages if m.folder not in SKIPPED]
    automated = {id(m): is_automated(m) for m in msgs}
    outbound = [m for m in msgs if m.sender.address in me]
    inbound = [m for m in msgs if m.sender.address not in me]

    # broadcasts: by size, or mail merges (same subject, >= 5 different people within 24 h)
    broadcast: set[int] = set()
    by_subject: dict[str, list[Msg]] = defaultdict(list)
    for m in outbound:
        recipients = [p for p in (*m.to, *m.cc, *m.bcc) if p.address not in me]
        if len(m.to) + len(m.cc) + len(m.bcc) >= BROADCAST_MIN:
            broadcast.add(id(m))
        if not automated[id(m)] and recipients:
            by_subject[norm_subject(m.subject)].append(m)
    for group in by_subject.values():
        group.sort(key=lambda m: m.date)
        for _i, m in enumerate(group):
            window = [x for x in group if m.date <= x.date < m.date + MERGE_WINDOW]
            people = {p.address for x in window for p in (*x.to, *x.cc, *x.bcc)} - me
            if len(window) >= MERGE_MIN and len(people) >= MERGE_MIN:
                broadcast.update(id(x) for x in window)

    def personal(m: Msg) -> bool:
        return not automated[id(m)] and len(m.to) + len(m.cc) + len(m.bcc) <= PERSONAL_MAX and id(m) not in broadcast

    # interactions per contact: (time, direction, personal)
    inter: dict[str, list[tuple[datetime, str, bool]]] = defaultdict(list)
    mail_from: dict[str, list[Msg]] = defaultdict(list)
    wrote_personally: set[str] = set()
    for m in inbound:
        inter[c(m.sender.address)].append((m.date, "in", personal(m)))
        mail_from[c(m.sender.address)].append(m)
    for m in outbound:
        for p in {x.address for x in (*m.to, *m.cc, *m.bcc)} - me:
            inter[c(p)].append((m.date, "out", personal(m)))
            if personal(m):
                wrote_personally.add(c(p))
    met: dict[str, list[datetime]] = defaultdict(list)
    ahead: set[str] = set()
    any_meeting: set[str] = set()
    for meetings in w.meetings.values():
        for mt in meetings:
            people = {c(a.address) for a in mt.attendees} - me
            any_meeting |= people if counts(mt) else set()
            for when in occurrences(mt):
                if not counts(mt):
                    continue
                for p in people:
                    if when <= w.now:
                        met[p].append(when)
                        inter[p].append((when, "meeting", True))
                    else:
                        ahead.add(p)

    auto_contacts = {
        p
        for p, ms in mail_from.items()
        if sum(automated[id(m)] for m in ms) >= AUTOMATED_SHARE * len(ms) and p not in wrote_personally
    }
    human = set(inter) - auto_contacts

    # threads: union-find over Message-ID, In-Reply-To and References
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for m in msgs:
        for ref in (m.in_reply_to, *m.references):
            if ref:
                parent[find(ref)] = find(m.message_id)
    thread = {id(m): find(m.message_id) for m in msgs}

    # indexes so each inbound message is checked against its own thread and sender only
    inbound_by_key: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for m in inbound:
        inbound_by_key[(c(m.sender.address), thread[id(m)])].append(m.date)
    out_by_thread: dict[str, list[datetime]] = defaultdict(list)
    out_by_person: dict[str, list[datetime]] = defaultdict(list)
    for x in outbound:
        if automated[id(x)]:
            continue  # an auto-reply is not an answer
        out_by_thread[thread[id(x)]].append(x.date)
        for p in {c(a.address) for a in (*x.to, *x.cc, *x.bcc)}:
            out_by_person[p].append(x.date)

    unanswered = []
    for m in inbound:
        sender = c(m.sender.address)
        if sender in auto_contacts or not personal(m) or m.answered or m.future_date:
            continue
        if not any(p.address in me for p in m.to) or m.date > w.now - UNANSWERED_AFTER:
            continue
        later_same = any(t > m.date for t in inbound_by_key[(sender, thread[id(m)])])
        replied = any(t > m.date for t in out_by_thread[thread[id(m)]]) or any(
            t > m.date for t in out_by_person[sender]
        )
        meeting_after = any(t > m.date for t in met[sender])
        if not later_same and not replied and not meeting_after:
            unanswered.append(m.message_id)

    broadcast_only, one_sided, reconnect = [], [], []
    for p, events in inter.items():
        if p in auto_contacts:
            continue
        events.sort()
        sent = [e for e in events if e[1] == "out" and e[0] >= w.now - BROADCAST_ONLY_WINDOW]
        if (
            len(sent) >= BROADCAST_ONLY_MIN
            and not any(e[2] for e in sent)
            and not any(e[2] for e in events if e[1] in ("in", "out"))
            and p not in any_meeting
        ):
            broadcast_only.append(p)
        personal_events = [e for e in events if e[2] and e[0] <= w.now]
        run: list[datetime] = []
        for t, kind, _ in personal_events:
            run = [*run, t] if kind == "out" else []
        if len(run) >= ONE_SIDED_MIN and run[-1] - run[0] >= ONE_SIDED_SPAN:
            one_sided.append(p)
        year = [e for e in personal_events if e[0] >= w.now - YEAR]
        kinds = {k for _, k, _ in year}
        two_way = "meeting" in kinds or {"in", "out"} <= kinds
        if len(year) >= RECONNECT_MIN and two_way and p not in ahead:
            times = [t for t, _, _ in year]
            # cadence: the gaps between the starts of conversations (no gap over 2 days inside one)
            starts = [t for k, t in enumerate(times) if k == 0 or t - times[k - 1] > CONVERSATION_GAP]
            gaps = [b - a for a, b in itertools.pairwise(starts)] or [timedelta(0)]
            threshold = min(max(RECONNECT_FLOOR, RECONNECT_FACTOR * median(gaps)), RECONNECT_CAP)
            if w.now - times[-1] > threshold:
                reconnect.append(p)

    return {
        "unanswered": unanswered,
        "broadcast_only": broadcast_only,
        "one_sided": one_sided,
        "reconnect": reconnect,
        "automated": sorted(auto_contacts),
        "human": sorted(human),
    }
