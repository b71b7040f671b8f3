"""A tiny mailbox world for analysis tests: records in, ingest through the real store, flags out."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from kith.analysis.api import analyze, contacts, flags
from kith.config.load import Config
from kith.config.mailboxes import MaildirMailbox
from kith.config.models import AnalysisConfig, GlobalConfig, MeConfig
from kith.connectors.base import Address, Attendee, Batch, EventRecord, FlagUpdate, MessageRecord, Role, Stream
from kith.store.engine import Store
from kith.store.ingest import StreamRef, apply_batch
from kith.store.state import ensure_mailbox, ensure_streams

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
ME = "me@work.example"
ME2 = "me@home.example"
_ids = itertools.count(1)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


@dataclass
class World:
    store: Store
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    streams: dict[tuple[str, str], StreamRef] = field(default_factory=dict)

    @property
    def config(self) -> Config:
        settings = GlobalConfig(me=MeConfig(addresses=(ME, ME2)), analysis=self.analysis)
        mailboxes = (
            MaildirMailbox(kind="maildir", name="work", path="/nonexistent", addresses=(ME,)),
            MaildirMailbox(kind="maildir", name="home", path="/nonexistent", addresses=(ME2,)),
        )
        return Config(settings=settings, mailboxes=mailboxes)

    def stream(self, mailbox: str = "work", folder: str = "INBOX", role: Role = Role.INBOX) -> StreamRef:
        key = (mailbox, folder)
        if key not in self.streams:
            with self.store.engine.begin() as conn:
                mb = ensure_mailbox(conn, mailbox, "maildir")
                known = [Stream(f, r) for (m, f), r in getattr(self, "_roles", {}).items() if m == mailbox]
                self.__dict__.setdefault("_roles", {})[key] = role
                states = ensure_streams(conn, mb, [*known, Stream(folder, role)])
            self.streams[key] = next(s.ref for s in states if s.name == folder)
        return self.streams[key]

    def mail(
        self,
        sender: str,
        to: tuple[str, ...] = (ME,),
        *,
        when: datetime,
        subject: str = "hello",
        cc: tuple[str, ...] = (),
        bcc: tuple[str, ...] = (),
        reply_to_msg: str | None = None,
        mailbox: str = "work",
        flags: frozenset[str] = frozenset(),
        message_id: str | None = None,
        received: datetime | None = None,
        conn: Connection | None = None,
        **headers: Any,
    ) -> str:
        """Deliver one message (into Sent when I am the sender); returns its Message-ID.

        ``conn``: in that connection's open transaction (a sync still running), not committed."""
        mid = message_id or f"<m{next(_ids)}@test>"
        mine = sender in (ME, ME2)
        rec = MessageRecord(
            provider_key=f"{mid}-{mailbox}-{'sent' if mine else 'in'}",
            message_id=mid,
            date=when,
            received=received,
            subject=subject,
            from_=Address(sender, sender.split("@")[0].title()),
            to=tuple(Address(a) for a in to),
            cc=tuple(Address(a) for a in cc),
            bcc=tuple(Address(a) for a in bcc),
            in_reply_to=reply_to_msg,
            references=(reply_to_msg,) if reply_to_msg else (),
            flags=flags,
            **headers,
        )
        ref = self.stream(mailbox, "Sent", Role.SENT) if mine else self.stream(mailbox)
        if conn is not None:
            apply_batch(conn, ref, Batch(upserts=(rec,)))
            return mid
        with self.store.engine.begin() as own:
            apply_batch(own, ref, Batch(upserts=(rec,)))
        return mid

    def set_flags(self, message_id: str, flags: frozenset[str], mailbox: str = "work") -> None:
        with self.store.engine.begin() as conn:
            apply_batch(
                conn, self.stream(mailbox), Batch(flag_updates=(FlagUpdate(f"{message_id}-{mailbox}-in", flags),))
            )

    def meeting(
        self, other: str, when: datetime, *, response: str = "ACCEPTED", cancelled: bool = False, uid: str | None = None
    ) -> None:
        ev = EventRecord(
            provider_key=uid or f"ev{next(_ids)}",
            uid=uid or f"ev{next(_ids)}@test",
            start=when,
            end=when + timedelta(minutes=30),
            organizer=Address(other),
            attendees=(Attendee(ME, partstat=response), Attendee(other, partstat="ACCEPTED")),
            my_response=response,
            cancelled=cancelled,
        )
        ref = self.stream("work", "calendar", Role.CALENDAR)
        with self.store.engine.begin() as conn:
            apply_batch(conn, ref, Batch(upserts=(ev,)))

    def analyze(self, now: datetime = NOW, *, rebuild: bool = False) -> dict[str, Any]:
        with self.store.session() as s:
            return analyze(s, self.config, now=now, rebuild=rebuild)

    def open_flags(self, kind: str | None = None, now: datetime = NOW) -> list[dict[str, Any]]:
        self.analyze(now)
        with self.store.session() as s:
            return flags(s, kind=kind, now=now)

    def waiting(self, now: datetime = NOW) -> set[str]:
        """Message-IDs flagged unanswered."""
        return {f["message_id"] for f in self.open_flags("unanswered", now)}

    def contacts(self, automated: bool | None = None) -> dict[str, dict[str, Any]]:
        with self.store.session() as s:
            return {c["address"]: c for c in contacts(s, automated=automated)}
