"""Respond and acknowledge: inbound personal messages still waiting for my answer.

Every candidate gets a verdict: open, or the reason it no longer needs me (a reply, a meeting, an
\\Answered flag, a newer message from them in the thread). The reasons become the resolve reason
when a flag that was open goes away.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Container
from datetime import datetime

from kith.analysis.model import ContactData, Finding
from kith.analysis.timeline import NO_TIMES, first_after, thread_replies
from kith.config.models import AnalysisConfig

_NO_EVIDENCE: dict[str, object] = {}


def unanswered(
    data: ContactData, cfg: AnalysisConfig, now: datetime, flagged: Container[str] | None = None
) -> list[Finding]:
    """Open findings and resolved ones (``reason`` set) for this contact's inbound personal mail.

    ``flagged``: the keys of the stored flags, when known. A resolved finding only lends its
    reason to a stored flag, so the others are left out: they are most of a contact's inbound
    mail (in an incremental run at 1M messages, all but 14 of 40k findings).
    """
    inbound = [m for m in data.mails if m.inbound]
    by_thread: dict[str, list[datetime]] = defaultdict(list)
    for m in inbound:
        by_thread[m.thread].append(m.time)
    for times in by_thread.values():
        times.sort()
    to_them = sorted(m.time for m in data.mails if not m.inbound and not m.automated)
    met = sorted(mt.time for mt in data.meetings if mt.counts and mt.time <= now)
    replies = thread_replies(data)
    young = now - cfg.unanswered_after
    include_cc = cfg.include_cc
    out: list[Finding] = []
    for m in inbound:
        if not m.personal or m.future or not (m.to_me or (include_cc and m.cc_me)):
            continue
        # the first of these that holds is the reason (``when``: its date); the rest are not
        # looked up
        t = m.time
        reason = None
        if (when := first_after(replies.get(m.thread, NO_TIMES), t)) is not None:
            reason = "answered in the thread on"
        elif (when := first_after(to_them, t)) is not None:
            reason = "you wrote to them on"
        elif (when := first_after(met, t)) is not None:
            reason = "you met on"
        elif m.answered:
            reason = "marked \\Answered in your mail client"
        elif first_after(by_thread[m.thread], t) is not None:
            reason = "they wrote again in the thread; the newer message is the one waiting"
        elif t > young:
            continue  # too young to flag, and nothing to resolve
        key = "unanswered:" + m.key
        if reason is not None:
            if flagged is not None and key not in flagged:
                continue
            if when is not None:
                reason = f"{reason} {when.date().isoformat()}"
        # a resolved finding only lends its reason to a flag that was open: it needs no evidence
        # (and without ``flagged``, a contact's whole history is resolved findings)
        evidence = (
            _NO_EVIDENCE
            if reason is not None
            else {"subject": m.subject, "received": m.time.isoformat(), "thread": m.thread, "to_me": m.to_me}
        )
        out.append(
            Finding(
                kind="unanswered",
                key=key,
                since=m.time,
                evidence=evidence,
                mark=m.key,
                message_id=m.message_id,
                reason=reason,
            )
        )
    return out


__all__ = ["unanswered"]
