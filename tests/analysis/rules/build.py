"""Hand-made contact histories for the rule tests: times are given in days before ``NOW``.

The rules are pure functions over ``ContactData``, so their tests need no store: each history is
written out in the test, and the expected verdict and evidence are worked out by hand from
DESIGN.md's definitions (never with the code under test).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kith.analysis.model import ContactData, Mail, Meeting
from kith.config.models import AnalysisConfig

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
CFG = AnalysisConfig()
ANN = "ann@client.example"
SECOND = timedelta(seconds=1)


def at(days: float) -> datetime:
    """The moment ``days`` before NOW."""
    return NOW - timedelta(days=days)


def mail_in(key: str, days: float, **kw: object) -> Mail:
    """A personal message from the contact to me."""
    return Mail(key, at(days), True, True, to_me=True, **kw)  # type: ignore[arg-type]


def mail_out(key: str, days: float, **kw: object) -> Mail:
    """A personal message from me to the contact."""
    return Mail(key, at(days), False, True, **kw)  # type: ignore[arg-type]


def meeting(key: str, days: float, counts: bool = True) -> Meeting:
    return Meeting(key, at(days), counts)


def contact(*items: Mail | Meeting, address: str = ANN) -> ContactData:
    return ContactData(
        address=address,
        mails=[i for i in items if isinstance(i, Mail)],
        meetings=[i for i in items if isinstance(i, Meeting)],
    )


def iso(days: float) -> str:
    return at(days).isoformat()


__all__ = ["ANN", "CFG", "NOW", "SECOND", "at", "contact", "iso", "mail_in", "mail_out", "meeting"]
