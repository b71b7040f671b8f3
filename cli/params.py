"""Parsing of command-line values: a bad value is a usage error naming the option and what it takes.

Click reports a ``typer.BadParameter`` raised here as ``Invalid value for '--until': …`` with the
command's usage line and exits 2, so a mistyped date never passes for a configuration problem
(exit 78, "run `kith config check`") as it once did.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import typer

DATE_FORMAT = "YYYY-MM-DD"


def parse_day(value: str | None) -> date | None:
    """``--date``/``--until``: an ISO calendar day, or the usage error that says so."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date; write it as {DATE_FORMAT}, e.g. 2026-12-24") from None


def future_day(value: str | None, *, today: date | None = None) -> date | None:
    """A day after today (a snooze that ends in the past would hide nothing and say nothing)."""
    day = parse_day(value)
    if day is None:
        return None
    today = today or datetime.now(UTC).date()
    if day <= today:
        raise typer.BadParameter(
            f"{day.isoformat()} is not in the future; give a day after {today.isoformat()} "
            f"(`kith flags dismiss` hides a flag for good)"
        )
    return day


def one_of(value: str | None, accepted: tuple[str, ...], *, what: str = "value") -> str | None:
    """``value`` when it is one of ``accepted``; else a usage error listing them."""
    if value is None or value in accepted:
        return value
    raise typer.BadParameter(f"{value!r} is not a {what}; use one of: {', '.join(accepted)}")


__all__ = ["DATE_FORMAT", "future_day", "one_of", "parse_day"]
