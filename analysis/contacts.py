"""Group facts and participants into one ``ContactData`` per contact (canonical address)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import datetime
from operator import attrgetter

from kith.analysis.facts import Fact
from kith.analysis.identity import Identities
from kith.analysis.model import ContactData, Mail, Meeting
from kith.config.models import AnalysisConfig


def mail_of(f: Fact, inbound: bool, cfg: AnalysisConfig, name: str = "") -> Mail:
    # positional, in ``Mail``'s field order: keywords cost three times as much (a rebuild makes
    # a mail per message and recipient)
    return Mail(
        f.key,
        f.time,
        inbound,
        f.personal(cfg),
        f.broadcast and not inbound,
        f.automated,
        f.answered,
        f.thread_key,
        f.to_me,
        f.cc_me,
        f.message_id,
        f.subject,
        f.future,
        f.automated_why,
        name,
    )


def contact_name(mails: Sequence[Mail]) -> str:
    """The name most of the contact's messages gave them (one vote a message); a tie goes to
    the name used last, as people change how they sign. ``mails`` in (time, key) order."""
    votes: dict[str, int] = {}
    last: dict[str, int] = {}
    for i, m in enumerate(mails):
        if m.name:
            votes[m.name] = votes.get(m.name, 0) + 1
            last[m.name] = i
    return max(votes, key=lambda n: (votes[n], last[n]), default="")


#: A contact's mail order (``attrgetter`` makes the sort key in C: a rebuild sorts a million mails).
_TIME_KEY = attrgetter("time", "key")
#: ``group_contacts``' mark of a spelling not looked up yet (a dict of its own, compared by identity).
_UNSEEN: dict[str, Mail] = {}


def group_contacts(
    rows: Iterable[tuple[str, str, str, str | None]],
    facts: Mapping[str, Fact],
    meetings: Mapping[str, list[Meeting]],
    replies: Callable[[set[str]], Mapping[str, list[datetime]]],
    ident: Identities,
    cfg: AnalysisConfig,
    only: Collection[str] | None = None,
    history: Mapping[str, dict[str, Mail]] | None = None,
) -> list[ContactData]:
    """``rows`` are (message key, role, address, name) participant rows; ``history``: mail
    already made per contact (the incremental path's stored history, none of it in ``rows``).

    Inbound mail belongs to its sender; outbound mail to each of its recipients (To, Cc, Bcc).
    People only copied on someone else's mail to me are not in touch with me through it.
    A message's name for the contact is the first one its rows give (spellings in sorted order).
    """
    # per contact, per stored spelling: merging the spellings in sorted order gives every path
    # the same mail for a message that names the contact twice
    by_raw: dict[str, dict[str, dict[str, Mail]]] = defaultdict(dict)
    # one string per distinct name: a rebuild keeps a name on each of a million mails
    names: dict[str, str] = {}
    for a, stored in (history or {}).items():
        by_raw[a][a] = stored
    # per stored spelling: the mail of its contact under that spelling, or None when it is not a
    # contact here (me, no address, out of ``only``): one lookup a row, not a canonicalisation
    # and three tests (a rebuild reads two million rows of a few ten thousand spellings)
    target: dict[str, dict[str, Mail] | None] = {}
    for key, role, addr, name in rows:
        f = facts.get(key)
        if f is None or not f.counted:
            continue
        if role == "from":
            if f.outbound:
                continue
            inbound = True
        elif f.outbound:
            inbound = False
        else:
            continue
        got = target.get(addr, _UNSEEN)
        if got is _UNSEEN:
            a = ident.canon(addr)
            if not a or a in ident.me or (only is not None and a not in only):
                got = None
            else:
                got = by_raw[a].get(addr)
                if got is None:
                    got = by_raw[a][addr] = {}
            target[addr] = got
        if got is None:
            continue
        if name:
            name = names.setdefault(name, name)
        m = got.get(key)
        if m is None:
            got[key] = mail_of(f, inbound, cfg, name or "")
        elif name and not m.name:
            m.name = name
    mails: dict[str, list[Mail]] = {}
    raw: dict[str, set[str]] = {}
    for a, spellings in by_raw.items():
        raw[a] = set(spellings)
        if len(spellings) == 1:
            (merged,) = spellings.values()
        else:
            merged = {}
            for addr in sorted(spellings):
                for key, m in spellings[addr].items():
                    merged.setdefault(key, m)
        # (time, key) order: the same list whichever order the loader read the rows in
        mails[a] = sorted(merged.values(), key=_TIME_KEY)
    del by_raw
    people = set(mails) | {p for p in meetings if only is None or p in only}
    # only the threads of their personal mail: the rules look my replies up for nothing else
    # (a newsletter's thousand threads are not read)
    threads = {m.thread for ms in mails.values() for m in ms if m.inbound and m.personal}
    thread_replies = replies(threads)
    out = []
    for a in sorted(people):
        ms = mails.get(a, [])
        own = {m.thread for m in ms if m.inbound and m.personal}
        out.append(
            ContactData(
                address=a,
                name=contact_name(ms),
                mails=ms,
                meetings=meetings.get(a, []),
                my_thread_replies={t: thread_replies[t] for t in own if t in thread_replies},
                raw_addresses=raw.get(a, set()) | {a},
            )
        )
    return out


__all__ = ["contact_name", "group_contacts", "mail_of"]
