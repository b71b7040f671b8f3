"""Group facts and participants into one ``ContactData`` per contact (canonical address)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime

from kith.analysis.facts import Fact
from kith.analysis.identity import Identities
from kith.analysis.model import ContactData, Mail, Meeting
from kith.config.models import AnalysisConfig


def mail_of(f: Fact, inbound: bool, cfg: AnalysisConfig) -> Mail:
    return Mail(
        key=f.key,
        time=f.time,
        inbound=inbound,
        personal=f.personal(cfg),
        broadcast=f.broadcast and not inbound,
        automated=f.automated,
        answered=f.answered,
        thread=f.thread_key,
        to_me=f.to_me,
        cc_me=f.cc_me,
        message_id=f.message_id,
        subject=f.subject,
        future=f.future,
        automated_why=f.automated_why,
    )


def group_contacts(
    rows: Iterable[tuple[str, str, str, str | None]],
    facts: Mapping[str, Fact],
    meetings: Mapping[str, list[Meeting]],
    replies: Callable[[set[str]], Mapping[str, list[datetime]]],
    ident: Identities,
    cfg: AnalysisConfig,
    only: Collection[str] | None = None,
) -> list[ContactData]:
    """``rows`` are (message key, role, address, name) participant rows.

    Inbound mail belongs to its sender; outbound mail to each of its recipients (To, Cc, Bcc).
    People only copied on someone else's mail to me are not in touch with me through it.
    """
    # per contact, per stored spelling: the rows of one spelling come in message order on every
    # path, the spellings themselves in either order; merging them in sorted spelling order gives
    # every path the same mail order and the same first-seen name on a tie
    by_raw: dict[str, dict[str, tuple[dict[str, Mail], Counter[str]]]] = defaultdict(dict)
    for key, role, addr, name in rows:
        f = facts.get(key)
        if f is None or not f.counted:
            continue
        a = ident.canon(addr)
        if not a or a in ident.me or (only is not None and a not in only):
            continue
        if role == "from":
            if f.outbound:
                continue
            inbound = True
        elif f.outbound:
            inbound = False
        else:
            continue
        bucket = by_raw[a].get(addr)
        if bucket is None:
            bucket = by_raw[a][addr] = ({}, Counter())
        got, seen_names = bucket
        if key not in got:
            got[key] = mail_of(f, inbound, cfg)
        if name:
            seen_names[name] += 1
    mails: dict[str, dict[str, Mail]] = {}
    names: dict[str, Counter[str]] = {}
    raw: dict[str, set[str]] = {}
    for a, spellings in by_raw.items():
        raw[a] = set(spellings)
        if len(spellings) == 1:
            ((mails[a], names[a]),) = spellings.values()
            continue
        merged: dict[str, Mail] = {}
        counts: Counter[str] = Counter()
        for addr in sorted(spellings):
            got, seen_names = spellings[addr]
            for key, m in got.items():
                merged.setdefault(key, m)
            for name, n in seen_names.items():
                counts[name] += n
        mails[a], names[a] = merged, counts
    del by_raw
    people = set(mails) | {p for p in meetings if only is None or p in only}
    threads = {m.thread for ms in mails.values() for m in ms.values() if m.inbound}
    thread_replies = replies(threads)
    out = []
    for a in sorted(people):
        ms = list(mails.get(a, {}).values())
        own = {m.thread for m in ms if m.inbound}
        out.append(
            ContactData(
                address=a,
                name=names[a].most_common(1)[0][0] if names.get(a) else "",
                mails=ms,
                meetings=meetings.get(a, []),
                my_thread_replies={t: thread_replies[t] for t in own if t in thread_replies},
                raw_addresses=raw.get(a, set()) | {a},
            )
        )
    return out


__all__ = ["group_contacts", "mail_of"]
