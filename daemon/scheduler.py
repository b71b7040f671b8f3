"""The scheduler: which mailbox syncs when, in which thread, under which lease.

Design choices, and why:

- **Threads, one per running sync, at most ``daemon.workers`` counted.** Connectors are blocking
  libraries (imapclient, googleapiclient, caldav); a thread each is the simplest way to let
  one slow server not delay the others. A plain executor cannot give back the slot of a thread
  that hangs in a network call, so slots are counted by hand: a sync that outlives
  ``sync_timeout`` is told to stop, and its slot is freed for the others at once.
- **The schedule lives in the database** (``mailboxes.next_run_at`` and ``failures``), so
  ``kith status`` shows it and several worker processes share it. A local copy is refreshed
  every few seconds; after taking the lease the row is read again, so a mailbox another worker
  just synced is not synced twice in a row.
- **Leases** (``kith.store.leases``) make sure one worker syncs a mailbox at a time; the main loop
  renews them every third of the lease period, so a worker that dies or hangs loses them
  within one period. An abandoned (timed-out) sync keeps its lease until its thread really ends:
  its batch could still commit, and no other worker may sync that mailbox meanwhile.
- **Backoff**: a failed sync doubles the wait from the poll interval up to ``max_backoff``; an
  authentication failure waits the full ``max_backoff`` (retrying refused credentials in a loop
  only gets an account locked). ``kith status`` shows failures and the next run.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from kith.config.load import Config
from kith.config.mailboxes import MailboxBase
from kith.config.models import DaemonConfig
from kith.daemon.sync import MailboxResult, SyncEngine
from kith.errors import StoreError
from kith.store import leases, schedule
from kith.store.engine import Store
from kith.store.models import utcnow
from kith.text import plural

log = logging.getLogger(__name__)

#: How often the local copy of the schedule is re-read (other workers write it too).
REFRESH_SECONDS = 5.0

#: analyze(touched addresses, now): called in the sync thread after a sync changed something;
#: expected to return quickly (the daemon hands the work to its analysis thread).
Analyze = Callable[[set[str], datetime], None]


def interval_of(mailbox: MailboxBase, daemon: DaemonConfig) -> float:
    return max(0.1, (mailbox.poll_interval or daemon.default_poll_interval).total_seconds())


def plan_next(
    status: str, failures: int, interval: float, daemon: DaemonConfig, rng: random.Random
) -> tuple[int, float]:
    """(failures, seconds until the next run) after a sync that ended with ``status``."""
    jitter = 1 + rng.uniform(-daemon.jitter, daemon.jitter) if daemon.jitter else 1.0
    cap = max(daemon.max_backoff.total_seconds(), interval)
    if status in ("ok", "partial"):
        return 0, interval * jitter
    if status == "aborted":  # stopped on purpose (shutdown, lost lease): no penalty
        return failures, interval * jitter
    if status == "auth":
        return failures + 1, cap
    failures += 1
    return failures, min(cap, interval * 2 ** min(failures, 30)) * jitter


@dataclass
class Job:
    """One sync in its thread."""

    mailbox: MailboxBase
    stop: threading.Event
    started: float
    deadline: float
    renew_at: float
    thread: threading.Thread | None = None
    result: MailboxResult | None = None
    abandoned: bool = False
    lease_lost: bool = False
    finished: bool = False


@dataclass
class Slot:
    """The local copy of a mailbox's schedule."""

    next_run: datetime | None = None
    failures: int = 0
    forced: bool = False
    #: Another worker holds the lease until then; try again at that moment, not before.
    not_before: datetime | None = None


@dataclass
class Observer:
    """Hooks for metrics; the defaults do nothing."""

    finished: Callable[[str, MailboxResult, float], None] = lambda name, result, seconds: None
    timed_out: Callable[[str], None] = lambda name: None


class Scheduler:
    """Starts due syncs, renews their leases, enforces timeouts, records the next run."""

    def __init__(
        self,
        store: Store,
        config: Config,
        *,
        worker: str,
        stop: threading.Event,
        analyze: Analyze | None = None,
        observer: Observer | None = None,
        rng: random.Random | None = None,
        on_done: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.worker = worker
        self.stop = stop
        self.analyze = analyze
        self.observer = observer or Observer()
        self.rng = rng or random.Random()
        #: Called from a sync thread when it ends, so the main loop reaps it without waiting a tick.
        self.on_done = on_done
        self.jobs: dict[str, Job] = {}
        self.slots: dict[str, Slot] = {}
        self._refreshed = 0.0
        self._lock = threading.Lock()
        self.set_config(config)

    # -- configuration ----------------------------------------------------------------------

    @property
    def daemon(self) -> DaemonConfig:
        return self.config.settings.daemon

    @property
    def mailboxes(self) -> dict[str, MailboxBase]:
        return {mb.name: mb for mb in self.config.mailboxes if mb.enabled}

    def set_config(self, config: Config) -> tuple[list[str], list[str], list[str]]:
        """Switch to ``config``; returns (added, removed, changed) mailbox names.

        A removed mailbox's running sync is asked to stop; a changed one is synced at once with
        its new settings, whatever its backoff (the change may well be the fix). Mailboxes that
        are backing off are retried at once too: after ``kith auth NAME`` the fix is a token file,
        not a config change, and ``systemctl reload kith`` should be all it takes.
        """
        old = self.mailboxes if self.slots else {}  # the first call (from __init__) adds everything
        self.config = config
        new = self.mailboxes
        added = sorted(set(new) - set(old))
        removed = sorted(set(old) - set(new))
        changed = sorted(n for n in set(old) & set(new) if old[n] != new[n])
        with self._lock:
            for name in removed:
                self.slots.pop(name, None)
                job = self.jobs.get(name)
                if job is not None:
                    job.stop.set()
            for name in added:
                self.slots.setdefault(name, Slot())
            for name in changed:
                self.slots[name] = Slot(forced=True)
            for slot in self.slots.values():
                if slot.failures:
                    slot.forced = True
        self._refreshed = 0.0
        return added, removed, changed

    def wake(self, name: str) -> None:
        """Run ``name`` as soon as a slot is free (IDLE saw new mail, config changed)."""
        with self._lock:
            slot = self.slots.get(name)
            if slot is not None:
                slot.forced = True

    # -- the loop body ----------------------------------------------------------------------

    def tick(self, now: datetime | None = None) -> None:
        """One pass: reap finished syncs, renew leases, enforce timeouts, start what is due."""
        now = now or utcnow()
        mono = time.monotonic()
        self._reap(now)
        self._renew(now, mono)
        self._enforce_timeouts(now, mono)
        if self.stop.is_set():
            return
        if mono - self._refreshed >= REFRESH_SECONDS:
            self._refresh()
            self._refreshed = mono
        for name in self._due(now):
            if self.running >= self.daemon.workers or self.stop.is_set():
                break
            self._start(name, now, mono)

    @property
    def running(self) -> int:
        return sum(1 for j in self.jobs.values() if not j.abandoned)

    def _refresh(self) -> None:
        names = list(self.mailboxes)
        stored = schedule.due_times(self.store.engine, names)
        with self._lock:
            for name in names:
                slot = self.slots.setdefault(name, Slot())
                due = stored.get(name)
                if due is not None:
                    slot.next_run, slot.failures = due.next_run, due.failures

    def _due(self, now: datetime) -> list[str]:
        with self._lock:
            due = [
                (slot.next_run or now, name)
                for name, slot in self.slots.items()
                if name not in self.jobs
                and (slot.forced or slot.next_run is None or slot.next_run <= now)
                and (slot.not_before is None or slot.not_before <= now)
            ]
        return [name for _when, name in sorted(due)]

    def _start(self, name: str, now: datetime, mono: float) -> None:
        mailbox = self.mailboxes[name]
        lease = leases.mailbox_lease(name)
        if not leases.acquire(self.store.engine, lease, self.worker, self.daemon.lease):
            self._postpone(name, now)  # another worker has it; look again after a refresh
            return
        slot = self.slots[name]
        if not slot.forced:  # re-check under the lease: another worker may have just synced it
            due = schedule.due_time(self.store.engine, name)
            if due is not None and due.next_run is not None and due.next_run > now:
                slot.next_run, slot.failures = due.next_run, due.failures
                leases.release(self.store.engine, lease, self.worker)
                return
        slot.forced, slot.not_before = False, None
        timeout = self.daemon.sync_timeout.total_seconds()
        job = Job(mailbox, threading.Event(), mono, mono + timeout, mono + self.daemon.lease.total_seconds() / 3)
        job.thread = threading.Thread(target=self._sync, args=(job,), name=f"sync-{name}", daemon=True)
        self.jobs[name] = job
        log.debug("mailbox %s: sync starting", name)
        job.thread.start()

    def _postpone(self, name: str, now: datetime) -> None:
        """Another worker syncs ``name``: look again when its lease runs out (a dead worker's
        mailbox is thus taken over within one lease period); the refresh shows when it is done."""
        until = leases.expires_at(self.store.engine, leases.mailbox_lease(name))
        with self._lock:
            slot = self.slots.get(name)
            if slot is not None:
                slot.not_before = max(until or now, now) + timedelta(seconds=0.05)

    def _sync(self, job: Job) -> None:
        """The thread body: sync, then analyse what it touched (the data landed either way)."""
        engine = SyncEngine(
            self.store, state_dir=self.config.state_dir, worker=self.worker, stop=job.stop, me=self.config.my_addresses
        )
        try:
            result = engine.sync_mailbox(job.mailbox)  # contains its own errors; the database's may escape
            if (result.touched or result.touched_events) and self.analyze is not None:
                try:
                    self.analyze(set(result.touched), utcnow())
                except Exception:
                    log.exception("mailbox %s: analysis of %d contacts failed", job.mailbox.name, len(result.touched))
            job.result = result
        except StoreError as exc:  # the database failed (full, gone): one line, retried with backoff
            log.error("mailbox %s: %s", job.mailbox.name, exc)
            job.result = MailboxResult(job.mailbox.name, status="error", error=str(exc))
        except Exception as exc:
            log.exception("mailbox %s: sync failed outside the engine", job.mailbox.name)
            job.result = MailboxResult(job.mailbox.name, status="error", error=f"{type(exc).__name__}: {exc}")
        finally:
            job.finished = True
            if self.on_done is not None:
                self.on_done()

    def _reap(self, now: datetime) -> None:
        for name, job in list(self.jobs.items()):
            if not job.finished and job.thread is not None and job.thread.is_alive():
                continue
            del self.jobs[name]
            if job.abandoned:  # its backoff was recorded when it timed out; only the lease is left
                leases.release(self.store.engine, leases.mailbox_lease(name), self.worker)
                continue
            result = job.result or MailboxResult(name, status="error", error="sync thread died")
            if job.lease_lost:  # the schedule is the new holder's to write now
                log.warning("mailbox %s: stopped (%s) because another worker took its lease", name, result.status)
                self._postpone(name, now)
            else:
                self._record(name, result.status, now)
            leases.release(self.store.engine, leases.mailbox_lease(name), self.worker)
            self.observer.finished(name, result, time.monotonic() - job.started)
            quiet = result.status == "ok" and not (result.upserts or result.deletions)
            log.log(
                logging.DEBUG if quiet else logging.INFO,  # a poll that found nothing is no news
                "mailbox %s: %s (%d new/updated, %d deleted)%s",
                name,
                result.status,
                result.upserts,
                result.deletions,
                f": {result.error}" if result.error else "",
            )

    def _record(self, name: str, status: str, now: datetime) -> None:
        mailbox = self.mailboxes.get(name)
        slot = self.slots.get(name)
        if mailbox is None or slot is None:  # removed from the config meanwhile
            return
        if status == "aborted" and self.stop.is_set():
            failures, delay = slot.failures, 0.0  # shutting down: due again as soon as we are back
        else:
            failures, delay = plan_next(status, slot.failures, interval_of(mailbox, self.daemon), self.daemon, self.rng)
        slot.failures, slot.next_run = failures, now + timedelta(seconds=delay)
        if failures:
            log.warning("mailbox %s: %s in a row; next try at %s", name, plural(failures, "failure"), slot.next_run)
        schedule.plan(self.store.engine, name, next_run=slot.next_run, failures=failures)

    def _renew(self, now: datetime, mono: float) -> None:
        period = self.daemon.lease.total_seconds()
        for name, job in self.jobs.items():
            if mono < job.renew_at:
                continue
            job.renew_at = mono + period / 3
            if not leases.renew(self.store.engine, leases.mailbox_lease(name), self.worker, self.daemon.lease):
                log.error(
                    "mailbox %s: lease lost (this worker stalled for over %.0fs); stopping its sync", name, period
                )
                job.lease_lost = True
                job.stop.set()

    def _enforce_timeouts(self, now: datetime, mono: float) -> None:
        for name, job in self.jobs.items():
            if job.abandoned or mono < job.deadline:
                continue
            job.abandoned = True
            job.stop.set()
            log.error(
                "mailbox %s: sync still running after %s; abandoned (its slot goes to the others)",
                name,
                self.daemon.sync_timeout,
            )
            self._record(name, "error", now)
            self.observer.timed_out(name)

    # -- lifecycle and reporting ------------------------------------------------------------

    def shutdown(self, grace: float) -> None:
        """Ask every sync to stop after its batch, wait up to ``grace`` seconds, record, release."""
        self.stop.set()
        for job in self.jobs.values():
            job.stop.set()
        deadline = time.monotonic() + grace
        for job in list(self.jobs.values()):
            if job.thread is not None and not job.abandoned:  # abandoned ones hang already: no wait
                job.thread.join(max(0.0, deadline - time.monotonic()))
        self._reap(utcnow())
        for name in self.jobs:
            log.warning("mailbox %s: sync did not stop within %.0fs; abandoned (its batch rolls back)", name, grace)
        try:
            leases.release_all(self.store.engine, self.worker)
        except Exception:
            log.warning("could not release leases; they expire within %s", self.daemon.lease, exc_info=True)

    def summary(self, now: datetime | None = None) -> str:
        """One line for systemd's STATUS=."""
        now = now or utcnow()
        syncing = sorted(n for n, j in self.jobs.items() if not j.abandoned)
        stuck = sorted(n for n, j in self.jobs.items() if j.abandoned)
        failing = sorted(n for n, s in self.slots.items() if s.failures)
        parts = [plural(len(self.slots), "mailbox", "mailboxes")]
        parts.append(f"syncing {_names(syncing)}" if syncing else "idle")
        if failing:
            parts.append(f"backing off {_names(failing)}")
        if stuck:
            parts.append(f"stuck {_names(stuck)}")
        upcoming = [(s.next_run, n) for n, s in self.slots.items() if s.next_run and n not in self.jobs]
        if upcoming:
            when, name = min(upcoming)
            parts.append(f"next {name} in {max(0, int((when - now).total_seconds()))}s")
        return "; ".join(parts)


def _names(names: list[str], most: int = 5) -> str:
    """A short list for one status line, however many mailboxes there are."""
    shown = ", ".join(names[:most])
    return f"{shown} +{len(names) - most} more" if len(names) > most else shown


__all__ = ["Job", "Observer", "Scheduler", "interval_of", "plan_next"]
