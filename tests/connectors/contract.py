"""The one contract every connector passes.

A connector's test module subclasses ``ConnectorContract`` and provides a ``harness`` fixture: an
object that can build the source and change the provider's side (deliver, delete, flag, expire
the cursor) by the provider's own means: files for Maildir, APPEND/EXPUNGE against the real
Dovecot for IMAP, the fake server's admin hooks for Gmail and Graph.

``Replica`` applies batches the way the store does (upserts by provider key, flag updates,
deletions, cursor), so these tests check the connector alone and stay fast.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, Protocol

from typing_extensions import get_protocol_members

from kith.connectors.base import (
    JSON,
    SOURCE_CAPABILITIES,
    Batch,
    CheckReport,
    EventRecord,
    MessageRecord,
    Source,
    Stream,
    capabilities,
)
from kith.errors import CursorExpired


@dataclass(frozen=True)
class TestMessage:
    """A message as a test wants it delivered; each harness renders it for its provider."""

    __test__ = False

    message_id: str
    subject: str = "hello"
    from_: str = "alice@example.com"
    to: tuple[str, ...] = ("me@example.com",)
    date: datetime = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    in_reply_to: str | None = None
    extra_headers: tuple[tuple[str, str], ...] = ()

    def as_bytes(self) -> bytes:
        lines = [
            f"Message-ID: {self.message_id}",
            f"Date: {format_datetime(self.date)}",
            f"From: {self.from_}",
            f"To: {', '.join(self.to)}",
            f"Subject: {self.subject}",
        ]
        if self.in_reply_to:
            lines += [f"In-Reply-To: {self.in_reply_to}", f"References: {self.in_reply_to}"]
        lines += [f"{k}: {v}" for k, v in self.extra_headers]
        return ("\r\n".join(lines) + "\r\n\r\nbody text\r\n").encode()


def messages(n: int, prefix: str = "m", start: int = 0) -> list[TestMessage]:
    base = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    return [
        TestMessage(f"<{prefix}{i}@contract.test>", subject=f"subject {i}", date=base + timedelta(minutes=i))
        for i in range(start, start + n)
    ]


class Harness(Protocol):
    """What a connector's test module provides to the contract."""

    def source(self, *, batch_size: int = 500) -> Source:
        """A fresh source object (a new connection each time, like a restarted daemon)."""
        ...

    def stream(self, source: Source) -> Stream:
        """The stream the contract delivers into (an inbox-like one)."""
        ...

    def deliver(self, items: Iterable[TestMessage]) -> None: ...

    def delete(self, message_id: str) -> None: ...

    def expire(self, cursor: JSON) -> None:
        """Make the provider forget ``cursor`` (UIDVALIDITY change, history/delta expiry)."""
        ...


@dataclass
class Replica:
    """An in-memory stand-in for the store: what a sequence of batches leaves behind."""

    items: dict[str, MessageRecord | EventRecord] = field(default_factory=dict)
    flags: dict[str, frozenset[str]] = field(default_factory=dict)
    versions: dict[str, str | None] = field(default_factory=dict)
    cursor: JSON | None = None
    upserted: int = 0
    batches: int = 0

    def known(self) -> dict[str, str | None]:
        return dict(self.versions)

    def apply(self, batch: Batch) -> None:
        for rec in batch.upserts:
            self.items[rec.provider_key] = rec
            self.versions[rec.provider_key] = batch.versions.get(rec.provider_key)
            if isinstance(rec, MessageRecord):
                self.flags[rec.provider_key] = rec.flags
        for fu in batch.flag_updates:
            self.flags[fu.provider_key] = fu.flags
        for key in batch.deletions:
            self.items.pop(key, None)
            self.flags.pop(key, None)
            self.versions.pop(key, None)
        if batch.cursor is not None:
            self.cursor = batch.cursor
        self.upserted += len(batch.upserts)
        self.batches += 1

    def sync(self, source: Source, stream: Stream, *, limit: int | None = None) -> Replica:
        """Pull from the current cursor; ``limit`` stops after that many batches (a crash)."""
        self.upserted = 0
        try:
            it = source.pull(stream, self.cursor, self.known)
            for n, batch in enumerate(it):
                if limit is not None and n >= limit:
                    break
                self.apply(batch)
        except CursorExpired:
            self.cursor = None
            for batch in source.pull(stream, None, self.known):
                self.apply(batch)
        return self

    def message_ids(self) -> list[str]:
        return sorted(r.message_id or "" for r in self.items.values() if isinstance(r, MessageRecord))


class ConnectorContract:
    """Subclass this and define a ``harness`` fixture returning a ``Harness``."""

    def _fresh(self, harness: Any, n: int, prefix: str = "m") -> tuple[Source, Stream, Replica, list[TestMessage]]:
        items = messages(n, prefix)
        harness.deliver(items)
        source = harness.source()
        stream = harness.stream(source)
        return source, stream, Replica().sync(source, stream), items

    def test_initial_pull(self, harness: Any) -> None:
        source, _stream, rep, items = self._fresh(harness, 5)
        assert rep.message_ids() == sorted(m.message_id for m in items)
        rec = next(
            r for r in rep.items.values() if isinstance(r, MessageRecord) and r.message_id == items[0].message_id
        )
        assert rec.subject == "subject 0"
        assert rec.from_ is not None and rec.from_.address == "alice@example.com"
        assert rec.date == items[0].date
        assert rep.cursor is not None, "a full pull must leave a cursor"
        source.close()

    def test_incremental_pull_fetches_only_new(self, harness: Any) -> None:
        source, stream, rep, items = self._fresh(harness, 4)
        new = messages(2, "new")
        harness.deliver(new)
        rep.sync(source, stream)
        assert rep.upserted == 2, "an incremental pull re-fetched messages it already had"
        assert rep.message_ids() == sorted(m.message_id for m in items + new)
        source.close()

    def test_noop_pull(self, harness: Any) -> None:
        source, stream, rep, items = self._fresh(harness, 3)
        rep.sync(source, stream)
        assert rep.upserted == 0
        assert rep.message_ids() == sorted(m.message_id for m in items)
        source.close()

    def test_deletions(self, harness: Any) -> None:
        source, stream, rep, items = self._fresh(harness, 4)
        harness.delete(items[1].message_id)
        rep.sync(source, stream)
        assert rep.message_ids() == sorted(m.message_id for i, m in enumerate(items) if i != 1)
        source.close()

    def test_resume_after_crash(self, harness: Any) -> None:
        items = messages(7, "r")
        harness.deliver(items)
        source = harness.source(batch_size=2)
        stream = harness.stream(source)
        rep = Replica().sync(source, stream, limit=1)
        assert 0 < len(rep.items) < 7, "expected the first batch to hold part of the stream"
        source.close()
        # a new process resumes from the cursor saved with the first batch
        source = harness.source(batch_size=2)
        rep.sync(source, stream)
        assert rep.message_ids() == sorted(m.message_id for m in items)
        assert len(rep.items) == 7
        source.close()

    def test_expired_cursor_resyncs_without_duplicates(self, harness: Any) -> None:
        source, stream, rep, items = self._fresh(harness, 3, "x")
        assert rep.cursor is not None
        harness.expire(rep.cursor)
        source.close()
        source = harness.source()
        rep.sync(source, stream)
        assert rep.message_ids() == sorted(m.message_id for m in items), "duplicates or losses after resync"
        source.close()

    def test_capabilities_are_declared_as_the_source_really_has_them(self, harness: Any) -> None:
        harness.deliver(messages(1, "cap"))
        source = harness.source()
        try:
            assert_capabilities_real(source)
        finally:
            source.close()


def assert_capabilities_real(source: Source) -> frozenset[str]:
    """What ``capabilities()`` says a source can do is what it does: every capability's members
    are there with the protocol's signature, or none of them is (a ``check`` or
    ``wait_for_changes`` that did not fit its protocol would be skipped by the callers, silently).
    Each capability is then used once. Returns the capabilities, for a test to pin them."""
    has = capabilities(source)
    for name, protocol in SOURCE_CAPABILITIES.items():
        for member in get_protocol_members(protocol):
            assert hasattr(source, member) == (name in has), f"{name}: {member} half there"
            wanted = getattr(protocol, member)
            if name in has and not isinstance(wanted, property):
                assert _parameters(getattr(type(source), member)) == _parameters(wanted), name
    if "alerts" in has:
        assert all(isinstance(text, str) for text in source.alerts)  # type: ignore[attr-defined]
    if "check" in has:
        assert isinstance(source.check(), CheckReport)  # type: ignore[attr-defined]
    if "push" in has:  # nothing arrives meanwhile: the wait ends by its timeout
        assert source.wait_for_changes(0.3) is False  # type: ignore[attr-defined]
    return has


def _parameters(method: Any) -> list[tuple[str, Any]]:
    """Names, kinds and defaults of a method's parameters (annotations are strings here)."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(method).parameters.values()]


__all__ = ["ConnectorContract", "assert_capabilities_real", "Harness", "Replica", "TestMessage", "messages"]
