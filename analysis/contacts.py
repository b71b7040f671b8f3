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
    mails: dict[str, dict[str, Mail]] = defaultdict(dict)
    names: dict[str, Counter[str]] = defaultdict(Counter)
    raw: dict[str, set[str]] = defaultdict(set)
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
        raw[a].add(addr)
        if key not in mails[a]:
            mails[a][key] = mail_of(f, inbound, cfg)
        if name:
            names[a][name] += 1
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
