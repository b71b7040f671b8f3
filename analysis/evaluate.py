"""Everything the analysis says about one contact, from its plain records: a pure function."""

from __future__ import annotations

import logging
from collections.abc import Container
from datetime import datetime

from kith.analysis import kinds
from kith.analysis.model import ContactData, ContactResult, Finding, InteractionRow
from kith.analysis.rules.automated import automated_contact
from kith.analysis.schedule import next_check
from kith.analysis.stages import stage
from kith.analysis.stats import contact_stats
from kith.config.models import AnalysisConfig

log = logging.getLogger(__name__)


def evaluate(
    data: ContactData, cfg: AnalysisConfig, now: datetime, flagged: Container[str] | None = None
) -> ContactResult:
    """``flagged``: the keys of the stored flags, when known; a resolved finding whose key is
    not among them is left out (see ``unanswered``)."""
    automated, why = automated_contact(data, cfg)
    findings: list[Finding] = []
    stats = contact_stats(data, now)
    stats["next_check"] = next_check(data, cfg, now)
    if automated:
        stats["stage"], stats["stage_evidence"] = None, {"why": "automated sender"}
    else:
        for kind in kinds.KINDS:  # every registered rule (kith.analysis.kinds)
            findings += kind.rule(data, cfg, now, flagged)
        stats["stage"], stats["stage_evidence"] = stage(data, cfg, now)
    interactions: list[InteractionRow] = [  # tuples on purpose: see ``InteractionRow``
        (m.time, "email_in" if m.inbound else "email_out", m.personal, m.broadcast, m.key, None, m.subject, m.name)
        for m in data.mails
    ]
    interactions += [
        (mt.time, "meeting", True, False, None, mt.key, mt.summary, None) for mt in data.meetings if mt.counts
    ]
    return ContactResult(
        address=data.address,
        name=data.name,
        automated=automated,
        automated_why=why,
        findings=findings,
        stats=stats,
        interactions=interactions,
        raw_addresses=data.raw_addresses,
    )


def evaluate_isolated(
    data: ContactData, cfg: AnalysisConfig, now: datetime, flagged: Container[str] | None = None
) -> ContactResult:
    """``evaluate``, but a contact whose data makes it fail is logged and returned as ``failed``:
    one contact's data (a stranger's, perhaps) never stops the analysis of all the others, and
    what is stored for that contact stays as it was until it evaluates again."""
    try:
        return evaluate(data, cfg, now, flagged)
    except Exception as exc:
        log.exception("analysis of contact %s failed; kept as it was, retried on the next run", data.address)
        why = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
        return ContactResult(
            address=data.address,
            name=data.name,
            automated=False,
            automated_why=None,
            findings=[],
            stats={},
            interactions=[],
            raw_addresses=data.raw_addresses,
            failed=why,
        )


__all__ = ["evaluate", "evaluate_isolated"]
