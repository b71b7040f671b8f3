"""The flag kinds: one registry that every surface reads.

Each entry says everything kith shows about one kind of flag: its id (stored in ``flags.kind``,
printed by ``kith flags --json``), the name people see (``kith flags``, ``kith analyze``), the
title and one-line advice of its report section and web Today group, the reason a flag of it
resolves when its rule gives none, and the rule that finds it. The order of ``KINDS`` is the
order of the report's sections, of the web Today page and of ``kith flags``.

Adding a rule is one file in ``analysis/rules/`` plus one entry here: the analysis runs it
(``evaluate``), the lifecycle resolves it, ``kith flags --kind`` accepts it, the report and the
web app give it a section. The surfaces read ``KINDS`` when they run, never a copy of it, and
``tests/analysis/test_kinds.py`` adds an entry and finds it on each of them. The store may not
import the analysis (DESIGN.md's rooms): it is handed the kind it needs (``people(...,
overdue_kind=RECONNECT.id)``). The sample may not either: it is the independent truth, and a test
pins its rules to these ids.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from kith.analysis.model import ContactData, Finding
from kith.analysis.rules.broadcast_only import broadcast_only
from kith.analysis.rules.one_sided import one_sided
from kith.analysis.rules.reconnect import reconnect
from kith.analysis.rules.unanswered import unanswered
from kith.config.models import AnalysisConfig


class Rule(Protocol):
    """A contact rule: what it finds for one contact at ``now``, open or resolved (``reason``).

    ``flagged``: the keys of the flags already stored, when known; a rule that reports resolved
    findings may leave out those nobody flagged (see ``unanswered``); the others ignore it."""

    def __call__(
        self, data: ContactData, cfg: AnalysisConfig, now: datetime, flagged: Container[str] | None = None, /
    ) -> list[Finding]: ...


@dataclass(frozen=True, slots=True)
class FlagKind:
    """One kind of flag, as every surface names and explains it."""

    #: Stored in ``flags.kind``; ``kith flags --json`` and ``--kind`` use it. Never renamed.
    id: str
    #: What people read: the ``kith flags`` column, ``kith analyze``'s summary; ``--kind`` takes it too.
    name: str
    #: The report section's and the web Today group's heading.
    title: str
    #: One line under the title: what to do about these.
    advice: str
    #: How the report's subject line counts them ("3 to answer").
    tally: str
    #: Why an open flag resolved when its rule no longer finds it and gave no reason of its own.
    gone: str
    rule: Rule

    @property
    def section(self) -> str:
        """The report section's key (``kith report --json``) and the web Today's ``?show=`` value."""
        return self.name.replace(" ", "_")

    @property
    def command(self) -> str:
        """The command that lists every flag of this kind."""
        return f"kith flags --kind {self.id}"


UNANSWERED = FlagKind(
    id="unanswered",
    name="respond",
    title="Respond and acknowledge",
    advice="Personal messages still waiting for you. Answer them, even with one line.",
    tally="to answer",
    gone="no longer waiting (the message is gone or its sender turned out to be automated)",
    rule=unanswered,
)
BROADCAST_ONLY = FlagKind(
    id="broadcast_only",
    name="broadcast only",
    title="Only broadcasting",
    advice="You only ever send these people mass mail. Write one personal line, or take them off the list.",
    tally="only broadcast",
    gone="a personal message or a meeting, or no longer enough broadcasts in the window",
    rule=broadcast_only,
)
ONE_SIDED = FlagKind(
    id="one_sided",
    name="pull back",
    title="Pull back",
    advice="Several messages in a row with no reply. Stop pushing; wait for them.",
    tally="to pull back",
    gone="they answered, or you met",
    rule=one_sided,
)
RECONNECT = FlagKind(
    id="reconnect",
    name="reconnect",
    title="Time to reconnect",
    advice="Longer than usual since you were last in touch. Reach out.",
    tally="to reconnect",
    gone="you are in touch again",
    rule=reconnect,
)

#: Every kind, in the order the report, the web Today page and ``kith flags`` show them.
KINDS: tuple[FlagKind, ...] = (UNANSWERED, BROADCAST_ONLY, ONE_SIDED, RECONNECT)

#: Why a flag of a kind this kith does not know (one stored by a newer kith) resolved.
UNKNOWN_GONE = "no longer holds"


def _spelling(text: str) -> str:
    """One spelling for ids and names alike: ``Pull-Back``, ``pull back`` and ``pull_back`` agree."""
    return "".join(text.casefold().replace("-", " ").replace("_", " ").split())


def by_id(kind_id: str) -> FlagKind | None:
    """The registered kind with this id (None: a kind this kith does not know)."""
    return next((k for k in KINDS if k.id == kind_id), None)


def by_section(key: str | None) -> FlagKind | None:
    """The kind whose report section (and web Today group) has this key."""
    return next((k for k in KINDS if k.section == key), None)


def lookup(text: str) -> FlagKind | None:
    """The kind ``text`` names, by id or by display name, case, spaces, ``-`` and ``_`` ignored."""
    wanted = _spelling(text)
    return next((k for k in KINDS if wanted in (_spelling(k.id), _spelling(k.name))), None)


def name_of(kind_id: str) -> str:
    """The display name of a kind id; the id itself for a kind this kith does not know."""
    k = by_id(kind_id)
    return k.name if k else kind_id


def rank(kind_id: str) -> int:
    """Where flags of this kind sort: the registry's order, unknown kinds last."""
    return next((i for i, k in enumerate(KINDS) if k.id == kind_id), len(KINDS))


def gone_reason(kind_id: str) -> str:
    """Why a flag of this kind resolved when its rule gave no reason."""
    k = by_id(kind_id)
    return k.gone if k else UNKNOWN_GONE


def choices() -> list[str]:
    """What ``--kind`` accepts, as shown to people: each id, with its display name when it differs."""
    return [k.id if _spelling(k.id) == _spelling(k.name) else f"{k.id} ({k.name})" for k in KINDS]


__all__ = [
    "BROADCAST_ONLY",
    "KINDS",
    "ONE_SIDED",
    "RECONNECT",
    "UNANSWERED",
    "UNKNOWN_GONE",
    "FlagKind",
    "Rule",
    "by_id",
    "by_section",
    "choices",
    "gone_reason",
    "lookup",
    "name_of",
    "rank",
]
