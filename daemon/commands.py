"""Reply-to-act at sync time: take the command messages out of a batch and carry them out.

A message whose Subject is a command (``kith.analysis.commands.parse_subject``) never reaches
the store: it is not a message of a conversation but a button press, so it must never become an
interaction, a contact, a flag, a thread or a statistic. Only its Subject and From are read.
Taken out of every batch, whatever its verdict, it then:

- **acts** when it comes from one of my addresses, its token is genuine and not expired, and the
  token was not used before: the flag is dismissed or snoozed, the token is crossed off, and the
  flag's history says "… by email at …";
- **passes silently** when it is the message that already used its token (the same message in
  Sent and in INBOX, in two mailboxes, or pulled again after a resync): applied once;
- **is refused** otherwise (forged, expired, foreign, replayed, unknown flag): nothing happens
  but a line in ``kith status`` (``action_log``) and a warning in the log;
- **does nothing** when the flag was resolved or dismissed since (``flag closed``): an old
  *Snooze* must not bring it back; the log says so.

Every command has its own transaction, so a crash between one and the batch it came in costs
nothing: the batch is pulled again, and the command is then the same message again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from kith.analysis.acting import attempt
from kith.analysis.commands import KEY_FILE, Command, parse_subject
from kith.config.secrets import state_key
from kith.connectors.base import Batch, MessageRecord, Role, Stream
from kith.store.commands import log_command, logged
from kith.store.models import utcnow

log = logging.getLogger(__name__)


def _draft(rec: MessageRecord) -> bool:
    """Flagged ``\\Draft`` (system flags are case-insensitive, RFC 3501 2.3.2): a Drafts folder
    kith does not know by its name, or Gmail's All Mail, holds unsent messages too."""
    return any(f.lower() == "\\draft" for f in rec.flags)


class CommandDesk:
    """Carries out the commands found in the batches of one sync."""

    def __init__(
        self, engine: Engine, state_dir: Path, me: Iterable[str], *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.engine = engine
        self.state_dir = state_dir
        self.me = frozenset(a.lower() for a in me)
        self.clock = clock
        self._key: bytes | None = None

    def take(self, batch: Batch, mailbox: str, addresses: Iterable[str], stream: Stream) -> Batch:
        """``batch`` without its command messages, which are carried out (or refused) first;
        in a drafts folder, or flagged ``\\Draft`` anywhere, they are only taken out: a draft was never sent."""
        commands = [
            (rec, cmd)
            for rec in batch.upserts
            if isinstance(rec, MessageRecord) and (cmd := parse_subject(rec.subject)) is not None
        ]
        if not commands:
            return batch
        mine = self.me | {a.lower() for a in addresses}
        for rec, cmd in commands:
            if stream.role is not Role.DRAFTS and not _draft(rec):
                self.carry_out(rec, cmd, mailbox, mine)
        taken = {id(rec) for rec, _cmd in commands}
        return replace(batch, upserts=tuple(r for r in batch.upserts if id(r) not in taken))

    def key(self) -> bytes:
        if self._key is None:
            self._key = state_key(self.state_dir, KEY_FILE)
        return self._key

    def carry_out(self, rec: MessageRecord, cmd: Command, mailbox: str, mine: frozenset[str]) -> str:
        """What came of one command message (the outcome written to the log, or ``duplicate``)."""
        now = self.clock()
        sender = rec.from_.address.lower() if rec.from_ else ""
        carrier = rec.message_id or f"{mailbox}:{rec.provider_key}"
        try:
            outcome = self._record(cmd, mailbox, mine, sender, carrier, now)
        except IntegrityError:  # another worker used the token between our look and our write
            outcome = self._record(cmd, mailbox, mine, sender, carrier, now)  # now it sees it
        if outcome == "applied":
            log.info("%s: %s flag %d by email", mailbox, cmd.action.value, cmd.flag_id)
        elif outcome == "flag closed":  # my own old link: nothing to warn about
            log.info("%s: %s flag %d by email: closed already, nothing done", mailbox, cmd.action.value, cmd.flag_id)
        elif outcome != "duplicate":
            log.warning("%s: refused a %s command for flag %d: %s", mailbox, cmd.action.value, cmd.flag_id, outcome)
        return outcome

    def _record(
        self, cmd: Command, mailbox: str, mine: frozenset[str], sender: str, carrier: str, now: datetime
    ) -> str:
        """Judge, carry out and log one command in one transaction."""
        with self.engine.begin() as conn:
            if logged(conn, carrier, cmd.digest):  # this very message again: Sent + INBOX, a re-read
                outcome = "duplicate"
            elif sender in mine:
                outcome = attempt(conn, self.key(), cmd, carrier, now, by=f"by email at {now:%Y-%m-%d %H:%M} UTC")
            else:
                outcome = "foreign"
            if outcome != "duplicate":
                log_command(
                    conn,
                    at=now,
                    via=f"email {mailbox}",
                    outcome=outcome,
                    flag_id=cmd.flag_id,
                    action=cmd.action.value,
                    sender=sender,
                    carrier=carrier,
                    digest=cmd.digest,
                )
        return outcome


__all__ = ["CommandDesk"]
