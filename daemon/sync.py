"""The sync engine: every stream of a mailbox, from the connector into the store, batch by batch.

Each batch and its cursor commit in one transaction, so stopping at any point (SIGTERM, SIGKILL,
a dropped connection) costs at most the batch in flight. Failures are contained at the smallest
scope that makes sense:

- every batch passes the one sanitizer (``kith.connectors.sanitize``) before the store sees it;
- a bad message is a ``Problem`` row; the stream goes on; a record the database still refuses is
  found by splitting its batch (``kith.daemon.batches``), recorded, and skipped;
- a ``TransientError`` is retried a few times (backoff with jitter, the server's Retry-After
  honoured), then recorded on that stream; the other streams go on;
- a ``CursorExpired`` resets that stream's cursor and resyncs it from scratch, idempotently;
- an ``AuthError`` stops the mailbox and is recorded for ``kith status`` and the report;
- anything else is logged with its traceback and recorded; the other mailboxes go on.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import DBAPIError
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from kith.config.load import Config
from kith.config.mailboxes import MailboxBase
from kith.connectors.base import Alerting, Source, Stream
from kith.connectors.registry import make_calendar_source, make_source
from kith.connectors.sanitize import sanitize_batch
from kith.daemon.batches import apply_isolating
from kith.daemon.commands import CommandDesk
from kith.errors import AuthError, ConfigError, CursorExpired, KithError, StoreError, TransientError
from kith.store.engine import Store
from kith.store.faults import as_store_error, describe
from kith.store.state import (
    StreamState,
    ensure_mailbox,
    ensure_streams,
    finish_run,
    finish_stream,
    known_keys,
    reset_cursor,
    set_mailbox_health,
    start_run,
    stream_cursor,
)

log = logging.getLogger(__name__)

#: progress(mailbox, stream, items applied in this batch)
Progress = Callable[[str, str, int], None]


@dataclass
class StreamResult:
    name: str
    role: str
    upserts: int = 0
    flag_updates: int = 0
    deletions: int = 0
    problems: int = 0
    resynced: bool = False
    error: str | None = None


@dataclass
class MailboxResult:
    name: str
    status: str = "ok"  # ok, partial, error, auth, aborted
    error: str | None = None
    streams: list[StreamResult] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)
    touched_events: bool = False

    @property
    def upserts(self) -> int:
        return sum(s.upserts for s in self.streams)

    @property
    def deletions(self) -> int:
        return sum(s.deletions for s in self.streams)

    @property
    def problems(self) -> int:
        return sum(s.problems for s in self.streams)


def default_worker_id() -> str:
    import os

    return f"{socket.gethostname()}:{os.getpid()}"


def _wait_with_retry_after(state: RetryCallState) -> float:
    base = wait_exponential_jitter(initial=1, max=30)(state)
    exc = state.outcome.exception() if state.outcome else None
    hint = getattr(exc, "retry_after", None)
    return max(base, min(float(hint), 300.0)) if hint else base


class SyncEngine:
    """Syncs configured mailboxes into one store. Safe to reuse; holds no connection between runs."""

    def __init__(
        self,
        store: Store,
        *,
        state_dir: Path,
        worker: str | None = None,
        attempts: int = 3,
        wait: Callable[[RetryCallState], float] = _wait_with_retry_after,
        stop: threading.Event | None = None,
        progress: Progress | None = None,
        me: Iterable[str] = (),
    ) -> None:
        self.store = store
        #: reply-to-act: command messages are carried out and kept out of the store
        self.commands = CommandDesk(store.engine, state_dir, me)
        self._addresses: dict[str, tuple[str, ...]] = {}
        self.state_dir = state_dir
        self.worker = worker or default_worker_id()
        self.attempts = attempts
        self.wait = wait
        self.stop = stop or threading.Event()
        self.progress = progress

    # -- one mailbox ------------------------------------------------------------------------

    def sync_mailbox(self, mailbox: MailboxBase, *, full: bool = False) -> MailboxResult:
        result = MailboxResult(mailbox.name)
        self._addresses[mailbox.name] = tuple(mailbox.addresses)
        with self.store.engine.begin() as conn:
            mailbox_id = ensure_mailbox(conn, mailbox.name, mailbox.kind)
            run_id = start_run(conn, mailbox_id, worker=self.worker, full=full)
        sources: list[Source] = []
        alerts: list[str] = []
        try:
            sources = self._sources(mailbox)
            listed: list[tuple[Source, Stream]] = []
            all_listed = True
            for source in sources:
                try:
                    listed += [(source, s) for s in self._retrying(source.streams)]
                except (AuthError, ConfigError):
                    raise
                except KithError as exc:
                    all_listed = False
                    result.status, result.error = "partial", f"cannot list streams: {exc}"
            with self.store.engine.begin() as conn:
                states = ensure_streams(conn, mailbox_id, [s for _src, s in listed], retire_missing=all_listed)
            by_name = {st.name: st for st in states}
            for source, stream in listed:
                if self.stop.is_set():
                    result.status = "aborted"
                    break
                sr = self._sync_stream(mailbox.name, source, stream, by_name[stream.name], full=full, result=result)
                result.streams.append(sr)
                if sr.error and result.status == "ok":
                    result.status, result.error = "partial", f"{stream.name}: {sr.error}"
            for source in sources:
                if isinstance(source, Alerting):
                    alerts += source.alerts
        except AuthError as exc:
            result.status, result.error = "auth", _describe(exc)
            log.error("mailbox %s: authentication failed: %s", mailbox.name, _describe(exc))
        except StoreError:
            raise  # the database itself failed (full, gone, corrupt): nothing more can be recorded
        except KithError as exc:
            result.status, result.error = "error", _describe(exc)
            log.error("mailbox %s: %s", mailbox.name, _describe(exc))
        except DBAPIError as exc:
            raise as_store_error(exc, self.store.where) or exc from exc
        except Exception as exc:  # the last line of defence: log it, record it, go on
            result.status, result.error = "error", f"internal error: {describe(exc)}"
            log.exception("mailbox %s: unexpected error", mailbox.name)
        finally:
            for source in sources:
                try:
                    source.close()
                except Exception:
                    log.debug("closing %s failed", mailbox.name, exc_info=True)
        with self._database(), self.store.engine.begin() as conn:
            finish_run(
                conn,
                run_id,
                status=result.status,
                counts={"upserts": result.upserts, "deletions": result.deletions, "problems": result.problems},
                error=result.error,
            )
            set_mailbox_health(
                conn,
                mailbox_id,
                auth_error=result.error if result.status == "auth" else None,
                server_alert="; ".join(alerts)[:2000] or None,
            )
        return result

    @contextmanager
    def _database(self) -> Iterator[None]:
        """A database error in here is the sync's end, said in one line (``StoreError``)."""
        try:
            yield
        except Exception as exc:
            mapped = as_store_error(exc, self.store.where)
            if mapped is None or mapped is exc:
                raise
            raise mapped from exc

    def _sources(self, mailbox: MailboxBase) -> list[Source]:
        sources = [make_source(mailbox, state_dir=self.state_dir)]
        cal = make_calendar_source(mailbox, state_dir=self.state_dir)
        if cal is not None:
            sources.append(cal)
        return sources

    def _retrying(self, fn: Callable[[], list[Stream]]) -> list[Stream]:
        for attempt in Retrying(
            retry=retry_if_exception_type(TransientError),
            stop=stop_after_attempt(self.attempts),
            wait=self.wait,
            reraise=True,
        ):
            with attempt:
                return fn()
        raise AssertionError("unreachable")  # pragma: no cover

    # -- one stream -------------------------------------------------------------------------

    def _sync_stream(
        self, mailbox: str, source: Source, stream: Stream, state: StreamState, *, full: bool, result: MailboxResult
    ) -> StreamResult:
        sr = StreamResult(stream.name, str(stream.role))
        if full and state.cursor is not None:
            with self.store.engine.begin() as conn:
                reset_cursor(conn, state.ref.id)
        error: str | None = None
        try:
            for attempt in Retrying(
                retry=retry_if_exception_type(TransientError),
                stop=stop_after_attempt(self.attempts),
                wait=self.wait,
                reraise=True,
                before_sleep=lambda rs: log.warning(
                    "%s/%s: %s; retrying", mailbox, stream.name, rs.outcome.exception() if rs.outcome else "?"
                ),
            ):
                with attempt:
                    # the store holds the cursor of the last batch that landed: resume from there
                    self._pull(mailbox, source, stream, state, self._stored_cursor(state), sr, result)
        except CursorExpired as exc:
            error = f"cursor expired twice in a row: {exc}"
        except AuthError:
            with self.store.engine.begin() as conn:
                finish_stream(conn, state.ref.id, error="authentication failed")
            raise
        except StoreError:
            raise
        except KithError as exc:
            error = _describe(exc)
            log.warning("%s/%s: %s", mailbox, stream.name, error)
        except DBAPIError as exc:  # not a record's fault (those are split out): the database's
            raise as_store_error(exc, self.store.where) or exc from exc
        except Exception as exc:
            error = f"internal error: {describe(exc)}"
            log.exception("%s/%s: unexpected error", mailbox, stream.name)
        sr.error = error
        with self._database(), self.store.engine.begin() as conn:
            finish_stream(conn, state.ref.id, error=error)
        return sr

    def _stored_cursor(self, state: StreamState) -> object:
        with self.store.engine.connect() as conn:
            return stream_cursor(conn, state.ref.id)

    def _pull(
        self,
        mailbox: str,
        source: Source,
        stream: Stream,
        state: StreamState,
        cursor: object,
        sr: StreamResult,
        result: MailboxResult,
    ) -> object:
        """Pull from ``cursor``; on CursorExpired reset and pull once more from scratch."""
        for again in (False, True):
            try:
                return self._apply_all(mailbox, source, stream, state, cursor, sr, result)
            except CursorExpired as exc:
                if again:
                    raise
                log.warning("%s/%s: %s; resyncing this stream from scratch", mailbox, stream.name, exc)
                with self.store.engine.begin() as conn:
                    reset_cursor(conn, state.ref.id)
                cursor, sr.resynced = None, True
        return cursor  # pragma: no cover

    def _apply_all(
        self,
        mailbox: str,
        source: Source,
        stream: Stream,
        state: StreamState,
        cursor: object,
        sr: StreamResult,
        result: MailboxResult,
    ) -> object:
        def known() -> dict[str, str | None]:
            with self.store.engine.connect() as conn:
                return known_keys(conn, state.ref.id)

        batches = source.pull(stream, cursor, known)  # type: ignore[arg-type]
        try:
            for raw in batches:
                batch = self.commands.take(sanitize_batch(raw), mailbox, self._addresses.get(mailbox, ()), stream)
                applied = apply_isolating(self.store.engine, state.ref, batch, f"{mailbox}/{stream.name}")
                if batch.cursor is not None:
                    cursor = batch.cursor
                sr.upserts += applied.upserts
                sr.flag_updates += applied.flag_updates
                sr.deletions += applied.deletions
                sr.problems += applied.problems
                result.touched |= applied.touched
                result.touched_events |= applied.touched_events
                if self.progress is not None:
                    self.progress(mailbox, stream.name, len(batch))
                if self.stop.is_set():
                    break
        finally:
            if isinstance(batches, Generator):  # a pull cut short releases what it holds now
                batches.close()
        return cursor

    # -- many mailboxes ---------------------------------------------------------------------

    def sync(self, mailboxes: Iterable[MailboxBase], *, full: bool = False) -> list[MailboxResult]:
        results = []
        for mb in mailboxes:
            if self.stop.is_set():
                break
            results.append(self.sync_mailbox(mb, full=full))
        return results


def select_mailboxes(config: Config, names: Sequence[str] = ()) -> list[MailboxBase]:
    """The enabled mailboxes, or exactly the ones named (an unknown name is a ConfigError)."""
    if names:
        return [config.mailbox(n) for n in names]
    return [mb for mb in config.mailboxes if mb.enabled]


def sync_mailboxes(
    config: Config, store: Store, names: Sequence[str] = (), *, full: bool = False, progress: Progress | None = None
) -> list[MailboxResult]:
    """``kith sync``: every selected mailbox once, in order."""
    engine = SyncEngine(store, state_dir=config.state_dir, progress=progress, me=config.my_addresses)
    return engine.sync(select_mailboxes(config, names), full=full)


def _describe(exc: KithError) -> str:
    return f"{exc} ({exc.hint})" if exc.hint else str(exc)


__all__ = ["MailboxResult", "StreamResult", "SyncEngine", "select_mailboxes", "sync_mailboxes"]
