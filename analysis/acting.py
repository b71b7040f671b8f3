"""Carry out one reply-to-act command, whichever way it came (a mail at sync, the web app).

``judge`` says what a command may do, ``act`` does it; both run inside the caller's transaction,
with the outcome logged by the caller (``kith.store.commands.log_command``). The token rules are
the same for every way in: genuine, not expired, and once only (a second use by the same carrier
is a ``duplicate`` that passes silently; by another, a ``replayed`` one that is refused).
A genuine link for a flag that is closed meanwhile (resolved, or dismissed) does nothing: a
week-old *Snooze* must not bring back what the conversation or the owner has settled since
(``flag closed``). The CLI may still snooze or dismiss any flag: it is asked in the present.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from kith.analysis import api as flags
from kith.analysis.commands import Action, Command, snooze_until, verify
from kith.store.commands import mark_used, used_by
from kith.store.flags import flag_row

#: States a command must leave alone: settled since the link was made.
CLOSED = ("resolved", "dismissed")


def judge(conn: Connection, key: bytes, cmd: Command, carrier: str, now: datetime) -> str:
    """``ok``, or why not: ``unknown flag``, ``forged``, ``expired``, ``replayed``,
    ``duplicate``, ``flag closed``. The flag is looked up first: the token is signed over its
    stable key too (``kith.analysis.commands``), so another flag with the same number fails."""
    row = flag_row(conn, cmd.flag_id)
    if row is None:
        return "unknown flag"
    verdict = verify(key, cmd, now, row["key"])
    if verdict != "ok":
        return verdict
    used = used_by(conn, cmd.digest)
    if used is not None:
        return "duplicate" if used == carrier else "replayed"
    if row["state"] in CLOSED:
        return "flag closed"
    return "ok"


def act(conn: Connection, cmd: Command, carrier: str, now: datetime, *, by: str) -> str:
    """Carry out a judged command: the flag's new state, and the token crossed off.
    ``applied``, or ``unknown flag`` (then nothing is written)."""
    try:
        if cmd.action is Action.DONE:
            flags.dismiss(conn, cmd.flag_id, now=now, by=by)
        else:
            until = snooze_until(cmd.action, now)
            assert until is not None
            flags.snooze(conn, cmd.flag_id, until, now=now, by=by)
    except flags.UnknownFlag:
        return "unknown flag"
    mark_used(conn, cmd.digest, cmd.flag_id, cmd.action.value, carrier, now)
    return "applied"


def attempt(conn: Connection, key: bytes, cmd: Command, carrier: str, now: datetime, *, by: str) -> str:
    """``judge`` then, when it is ok, ``act``: the outcome to log (``duplicate``: log nothing)."""
    verdict = judge(conn, key, cmd, carrier, now)
    return act(conn, cmd, carrier, now, by=by) if verdict == "ok" else verdict


__all__ = ["act", "attempt", "judge"]
