"""`kith run`: the long-running daemon systemd starts.

The main thread owns the loop and nothing slow: it handles signals, reloads the config, lets the
scheduler start/reap syncs (each in its own thread), kicks the nightly report (in its own
thread: an SMTP server that hangs must not stop the loop), updates STATUS= and feeds the
watchdog. Because only the loop feeds the watchdog, systemd restarts a daemon whose loop hangs,
but not one whose single mailbox hangs.

Signals only set flags (handlers must not take locks) and wake the loop through
``signal.set_wakeup_fd``. SIGTERM/SIGINT: every sync stops after the batch in flight (its
cursor commits with that batch, so nothing is lost or skipped) and the process exits 0 within
``STOP_GRACE`` seconds, well inside the units' ``TimeoutStopSec=30s``. SIGHUP reloads
the config: mailboxes added, removed or changed take effect at once; a config that does not
load is logged with every problem and the old one stays in force. A second SIGINT (Ctrl-C)
exits at once.
"""

from __future__ import annotations

import inspect
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from kith.config.load import Config, load_config
from kith.config.mailboxes import MailboxBase
from kith.config.redact import mask_url
from kith.config.secrets import PRIVATE_UMASK
from kith.connectors.registry import make_source
from kith.daemon.notify import Notifier, Waker
from kith.daemon.scheduler import ALONE_REFRESH_SECONDS, REFRESH_SECONDS, Scheduler
from kith.daemon.sync import default_worker_id
from kith.errors import ConfigError, KithError
from kith.store import daemons, leases
from kith.store.engine import Store, store_for
from kith.store.faults import describe
from kith.store.health import record_analysis_error
from kith.store.models import utcnow
from kith.text import plural

log = logging.getLogger(__name__)

#: Seconds a stopping daemon waits for syncs to finish their batch (the units allow 30 in all).
STOP_GRACE = 15.0
#: Wait after a failed loop pass (doubling); also the watchdog ping cadence for short watchdogs.
TICK = 1.0
#: Longest sleep of an idle main loop (the loop computes when it next has work: ``_sleep``).
MAX_SLEEP = 60.0
#: How often the nightly report is checked (deliver_due is idempotent: the reports table decides).
REPORT_EVERY = 60.0
#: Longest single IDLE-style wait of the optional push hook. Each wait ends in a lease claim (a
#: database write) and a new IDLE command, so an idle daemon pays for every one of them.
IDLE_WAIT = 240.0
#: The ``idle:NAME`` lease lasts three waits: a worker that dies hands its push watch over to
#: another within this long (its mailboxes are still polled meanwhile).
IDLE_LEASE = timedelta(seconds=3 * IDLE_WAIT)


class Analyzer(threading.Thread):
    """Runs the analysis of touched contacts in its own thread, coalescing requests.

    Syncs only hand over what they touched and go on (their slot and lease are free at once);
    while one analysis runs, later requests pile up and are served by one more run. The sync
    writes its analysis queue in the same transaction as each batch, so an analysis skipped at
    shutdown is not lost: the next start drains the queue (one run is requested on start).

    A run that fails (the database went away a moment) is tried again after ``RETRY_FIRST``
    seconds, doubling up to ``RETRY_MAX``, whether or not new mail comes: the queue it left
    is work to do. Its error is kept for ``kith status`` until a run succeeds.
    kith.analysis is imported lazily and skipped quietly when it is not installed.
    """

    #: Seconds before the first retry of a failed run, and the longest wait between retries.
    RETRY_FIRST = 5.0
    RETRY_MAX = 300.0

    def __init__(self, store: Store, config_of: Callable[[], Config], stop: threading.Event) -> None:
        super().__init__(name="analysis", daemon=True)
        self.store, self.config_of, self.stop = store, config_of, stop
        self.pending: set[str] | None = None
        self.lock = threading.Lock()
        self.wanted = threading.Event()
        #: Seconds until the next retry while the last run failed; None while all is well.
        self.retry_in: float | None = None
        #: set while a run is in flight (the web app says so on the page that asked for it)
        self.busy = threading.Event()
        #: requests submitted, and the last of them a finished run has served (``submit_and_wait``)
        self._asked = self._served = 0
        self._settled = threading.Condition(self.lock)

    def submit(self, touched: set[str], _now: datetime | None = None) -> None:
        with self.lock:
            self.pending = (self.pending or set()) | touched
            self._asked += 1
        self.wanted.set()

    def submit_and_wait(self, touched: set[str], _now: datetime | None = None, timeout: float = 600.0) -> None:
        """``submit``, then wait (at most ``timeout``) until a run that includes it has ended: a
        fresh mailbox's recent window is analysed, its first flags made, before its backfill
        competes with the analysis for the cores and the database (issue 28)."""
        with self.lock:
            self.pending = (self.pending or set()) | touched
            self._asked += 1
            mine = self._asked
        self.wanted.set()
        with self._settled:
            self._settled.wait_for(lambda: self._served >= mine or self.stop.is_set() or not self.is_alive(), timeout)

    def release_waiters(self) -> None:
        """Stopping: a backfill waiting for its window's analysis goes on (to its own stop) now."""
        with self._settled:
            self._settled.notify_all()

    def run(self) -> None:
        try:
            self._serve()
        finally:  # stopped (or no analysis installed): nobody waits for a run that will not come
            with self._settled:
                self._served = self._asked
                self._settled.notify_all()

    def _serve(self) -> None:
        try:
            from kith.analysis.api import analyze_touched
        except ImportError:
            log.debug("kith.analysis is not available; no analysis after syncs")
            return
        while True:
            asked = self.wanted.wait(self.retry_in)
            if self.stop.is_set():
                return
            with self.lock:
                touched, self.pending = self.pending, None
                self.wanted.clear()
                taken = self._asked
            if touched is None and asked and self.retry_in is None:
                continue
            self.busy.set()
            try:
                analyze_touched(self.store, self.config_of(), touched or set(), now=utcnow())
                self.retry_in = None
            except Exception as exc:
                self.retry_in = min(self.RETRY_MAX, (self.retry_in or self.RETRY_FIRST / 2) * 2)
                log.exception("analysis failed; retrying in %.0f s", self.retry_in)
                try:
                    record_analysis_error(self.store.engine, describe(exc), utcnow())
                except Exception as again:  # the database is still away: the log has it
                    log.debug("cannot record the analysis error: %s", describe(again))
            finally:
                self.busy.clear()
                with self._settled:  # served even when it failed: a waiting backfill goes on
                    self._served = taken
                    self._settled.notify_all()


class IdleWatcher(threading.Thread):
    """Optional push: if a mailbox's source has ``wait_for_changes(timeout) -> bool``, wake it early.

    Used for mailboxes with ``idle = true`` (IMAP IDLE). A source without the method ends the
    watcher at once, so this works with any connector and depends on none. Errors back off and
    retry; the regular poll keeps the mailbox fresh meanwhile. With several workers, an
    ``idle:NAME`` lease makes one of them watch each mailbox (one IDLE connection, not one per
    worker); ``claim`` takes or renews it and is called at least every ``period`` / 3.
    """

    def __init__(
        self,
        mailbox: MailboxBase,
        state_dir: Path,
        wake: Callable[[str], None],
        *,
        claim: Callable[[], bool] = lambda: True,
        release: Callable[[], None] = lambda: None,
        period: float = 3 * IDLE_WAIT,
    ) -> None:
        super().__init__(name=f"idle-{mailbox.name}", daemon=True)
        self.mailbox, self.state_dir, self.wake = mailbox, state_dir, wake
        self.claim, self.release, self.period = claim, release, period
        self.cancel = threading.Event()

    def run(self) -> None:
        try:
            self._watch()
        finally:
            self.release()

    def _watch(self) -> None:
        backoff, name = 1.0, self.mailbox.name
        while not self.cancel.is_set():
            if not self._claim():  # another worker watches it
                self.cancel.wait(self.period / 2)
                continue
            source: Any = None
            try:
                source = make_source(self.mailbox, state_dir=self.state_dir)
                wait = getattr(source, "wait_for_changes", None)
                if wait is None:
                    return
                try:  # a source that accepts a stop event returns as soon as we are cancelled
                    takes_stop = "stop" in inspect.signature(wait).parameters
                except (TypeError, ValueError):
                    takes_stop = False
                seconds = min(IDLE_WAIT, self.period / 3)
                while not self.cancel.is_set():
                    changed = wait(seconds, stop=self.cancel) if takes_stop else wait(seconds)
                    if changed and not self.cancel.is_set():
                        log.debug("mailbox %s: push says something changed", name)
                        self.wake(name)
                    backoff = 1.0
                    if not self._claim():
                        log.info("mailbox %s: another worker watches it for changes now", name)
                        break
            except Exception as exc:
                log.info("mailbox %s: push wait failed (%s); polling meanwhile", name, exc)
                self.cancel.wait(backoff)
                backoff = min(backoff * 2, 300.0)
            finally:
                if source is not None:
                    try:
                        source.close()
                    except Exception:
                        log.debug("closing the push source of %s failed", name, exc_info=True)

    def _claim(self) -> bool:
        try:
            return self.claim()
        except Exception as exc:  # the database is away: do not watch without the lease
            log.debug("mailbox %s: cannot claim the push watch: %s", self.mailbox.name, exc)
            return False


class Daemon:
    """One worker process: config, store, scheduler, signals, report, systemd, metrics."""

    def __init__(self, config: Config, *, config_path: Path | None = None, notifier: Notifier | None = None) -> None:
        self.config = config
        self.config_path = config_path or config.path
        self.notifier = notifier or Notifier()
        self.worker = config.settings.daemon.worker_id or default_worker_id()
        self.stop = threading.Event()
        self.waker = Waker()
        #: Set by signal handlers (plain assignments only; the loop acts on them).
        self.reload_requested = False
        self.stop_requested: str | None = None
        self.store: Store | None = None
        self.scheduler: Scheduler | None = None
        self.metrics: Any = None
        self.web: Any = None
        self.analyzer: Analyzer | None = None
        self.idle: dict[str, IdleWatcher] = {}
        self._report: threading.Thread | None = None
        self._report_checked = float("-inf")
        self._beaten = float("-inf")

    # -- signals ----------------------------------------------------------------------------

    def _on_stop(self, signum: int, _frame: FrameType | None) -> None:
        if self.stop_requested and signum == signal.SIGINT:
            # a second Ctrl-C: leave now; every committed batch has its cursor, the rest rolls back
            os.write(2, b"second interrupt: exiting at once\n")
            os._exit(130)
        self.stop_requested = signal.Signals(signum).name

    def _on_hup(self, _signum: int, _frame: FrameType | None) -> None:
        self.reload_requested = True

    def install_signals(self) -> None:
        signal.set_wakeup_fd(self.waker.fileno(), warn_on_full_buffer=False)
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_hup)

    # -- the loop ---------------------------------------------------------------------------

    def run(self) -> int:
        self.install_signals()
        self.notifier.status("starting: opening the database")
        self.store = store_for(self.config)  # upgrades the schema, under a lock shared by all workers
        # a predecessor on this host that was killed holds leases under its old pid: free them now
        # rather than after a whole lease period
        freed = leases.release_dead_local(self.store.engine, socket.gethostname())
        if freed:
            log.info("released the leases of dead workers on this host: %s", ", ".join(freed))
        self.analyzer = Analyzer(self.store, lambda: self.config, self.stop)
        self.analyzer.submit(set())  # drain what an earlier run left queued
        self.analyzer.start()
        self.scheduler = Scheduler(
            self.store,
            self.config,
            worker=self.worker,
            stop=self.stop,
            analyze=self.analyzer.submit,
            analyze_window=self.analyzer.submit_and_wait,
            on_done=self.waker.wake,
        )
        self._start_metrics()
        self._start_web()
        self._sync_idle_watchers()
        log.info(
            "kith run: worker %s, %s, database %s",
            self.worker,
            plural(len(self.scheduler.slots), "mailbox", "mailboxes"),
            mask_url(self.store.url.render_as_string(hide_password=False)),
        )
        self.notifier.ready(f"ready; {plural(len(self.scheduler.slots), 'mailbox', 'mailboxes')}")
        failures = 0
        try:
            while True:
                if self.stop_requested:
                    log.info("%s received; stopping after the batches in flight", self.stop_requested)
                    break
                if self.step():
                    failures = 0
                    self.notifier.watchdog()
                else:  # e.g. the database is gone: retry with backoff, and let the watchdog lapse
                    failures += 1
                self.waker.wait(self._sleep() if not failures else min(30.0, TICK * 2**failures))
        finally:
            self.shutdown()
        return 0

    def _start_metrics(self) -> None:
        port = self.config.settings.daemon.metrics_port
        if not port:
            return
        from kith.daemon.metrics import Metrics

        assert self.store is not None and self.scheduler is not None
        metrics = Metrics(self.store)
        try:
            metrics.serve(port)
        except OSError as exc:  # a taken port must not keep the mail from syncing
            log.error("metrics: cannot listen on 127.0.0.1:%d (%s); running without metrics", port, exc)
            return
        self.metrics = metrics
        self.scheduler.observer = metrics.observer()

    def _start_web(self) -> None:
        """Serve the web app from a thread when ``[web] listen`` is set (a bad setting or a
        taken port is logged; the mail keeps syncing without it)."""
        if not self.config.settings.web.listen:
            return
        from kith.web.server import WebServer

        assert self.store is not None and self.analyzer is not None
        analyzer = self.analyzer
        try:
            self.web = WebServer(
                self.config,
                self.store,
                analyze=lambda: analyzer.submit(set()),
                analyzing=lambda: analyzer.busy.is_set() or analyzer.wanted.is_set(),
            )
            self.web.start()
        except KithError as exc:
            log.error("web app not served: %s%s", exc, f" ({exc.hint})" if exc.hint else "")
            return
        log.info("web app on %s:%d; `kith web --url-only` prints a login link", self.web.host, self.web.port)

    def step(self) -> bool:
        """One loop pass; False when something failed (then the watchdog is not fed)."""
        assert self.scheduler is not None
        try:
            if self.reload_requested:
                self.reload_requested = False
                self.reload()
            self._beat()
            self.scheduler.tick()
            self._kick_report()
            self.notifier.status(self.scheduler.summary())
            return True
        except Exception:
            log.exception("main loop pass failed; retrying")
            return False

    def _sleep(self) -> float:
        """Seconds until the loop has work: the scheduler's next, the next beat, report check
        and watchdog ping, at most ``MAX_SLEEP``. Signals, finished syncs and pushes wake it
        sooner (the waker); an idle daemon thus wakes a few times a minute, not every second."""
        assert self.scheduler is not None
        now = time.monotonic()
        waits = [MAX_SLEEP, self.scheduler.next_wake()]
        waits.append(self._beaten + self.config.settings.daemon.lease.total_seconds() / 3 - now)
        if self.config.settings.report.deliver != "none":
            waits.append(self._report_checked + REPORT_EVERY - now)
        interval = self.notifier.watchdog_interval
        if interval:  # a ping goes out every half interval (Notifier.watchdog): look twice as often
            waits.append(interval / 4)
        return max(0.01, min(waits))

    def _beat(self) -> None:
        """Tell `kith status` this worker is alive (a lease renewed three times per period)."""
        lease = self.config.settings.daemon.lease
        now = time.monotonic()
        if now - self._beaten < lease.total_seconds() / 3:
            return
        assert self.store is not None
        daemons.beat(self.store.engine, self.worker, lease)
        self._beaten = now
        if self.scheduler is not None:  # alone, this worker is the only writer of the schedule
            with self.store.engine.connect() as conn:
                others = [w for w in daemons.presence(conn)["running"] if w["worker"] != self.worker]
            self.scheduler.refresh_every = REFRESH_SECONDS if others else ALONE_REFRESH_SECONDS

    def shutdown(self) -> None:
        self.notifier.stopping("stopping: letting the batches in flight finish")
        self.stop.set()
        if self.analyzer is not None:
            self.analyzer.release_waiters()
        for watcher in self.idle.values():
            watcher.cancel.set()
        if self.scheduler is not None:
            try:
                self.scheduler.shutdown(STOP_GRACE)
            except Exception:  # the database went away: the leases expire by themselves
                log.exception("clean shutdown incomplete; leases expire within %s", self.config.settings.daemon.lease)
        if self._report is not None:
            self._report.join(max(0.0, STOP_GRACE / 4))
        if self.analyzer is not None:  # an analysis in flight is one transaction: let it commit
            self.analyzer.wanted.set()
            self.analyzer.join(max(0.0, STOP_GRACE / 4))
        if self.metrics is not None:
            self.metrics.close()
        if self.web is not None:
            self.web.stop()
        if self.store is not None:
            self.store.dispose()
        log.info("kith run: stopped")
        self.notifier.close()
        if signal.set_wakeup_fd(-1) != self.waker.fileno():  # not ours (not installed): put it back
            signal.set_wakeup_fd(-1)
        self.waker.close()

    # -- reload -----------------------------------------------------------------------------

    def reload(self) -> bool:
        """Load the config again; keep the old one (and say why) when the new one is broken."""
        assert self.scheduler is not None
        self.notifier.reloading()
        try:
            new = load_config(self.config_path)
        except ConfigError as exc:
            log.error("config reload failed; keeping the previous config: %s", exc)
            self.notifier.ready(f"reload failed, old config kept: {str(exc).splitlines()[0]}")
            return False
        old, fresh = self.config.settings, new.settings
        for what, changed in (
            ("[database]", old.database != fresh.database),
            ("[daemon] metrics_port", old.daemon.metrics_port != fresh.daemon.metrics_port),
            ("[daemon] worker_id", old.daemon.worker_id != fresh.daemon.worker_id),
        ):
            if changed:
                log.warning("%s changed; that takes a restart (systemctl restart kith), not a reload", what)
        self.config = new
        added, removed, changed = self.scheduler.set_config(new)
        self._sync_idle_watchers()
        log.info(
            "config reloaded: %s (added: %s; removed: %s; changed: %s)",
            plural(len(self.scheduler.slots), "mailbox", "mailboxes"),
            ", ".join(added) or "none",
            ", ".join(removed) or "none",
            ", ".join(changed) or "none",
        )
        self.notifier.ready(f"reloaded; {plural(len(self.scheduler.slots), 'mailbox', 'mailboxes')}")
        return True

    def _sync_idle_watchers(self) -> None:
        """One push watcher per enabled mailbox with ``idle = true``; restarted when it changed."""
        assert self.scheduler is not None
        wanted = {n: mb for n, mb in self.scheduler.mailboxes.items() if getattr(mb, "idle", False)}
        for name, watcher in list(self.idle.items()):
            if wanted.get(name) != watcher.mailbox:
                watcher.cancel.set()
                del self.idle[name]
        for name, mb in wanted.items():
            if name not in self.idle:
                self.idle[name] = self._idle_watcher(mb)
                self.idle[name].start()

    def _idle_watcher(self, mailbox: MailboxBase) -> IdleWatcher:
        assert self.store is not None
        engine, lease_name, worker = self.store.engine, f"idle:{mailbox.name}", self.worker
        period = max(self.config.settings.daemon.lease, IDLE_LEASE)

        def release() -> None:
            try:
                leases.release(engine, lease_name, worker)
            except Exception:
                log.debug("releasing %s failed; it expires by itself", lease_name, exc_info=True)

        return IdleWatcher(
            mailbox,
            self.config.state_dir,
            self._wake,
            claim=lambda: leases.acquire(engine, lease_name, worker, period),
            release=release,
            period=period.total_seconds(),
        )

    def _wake(self, name: str) -> None:
        if self.scheduler is not None:
            self.scheduler.wake(name)
        self.waker.wake()

    # -- the nightly report -----------------------------------------------------------------

    def _kick_report(self) -> None:
        """Check the nightly report on start (catch-up) and every REPORT_EVERY seconds after."""
        if self.config.settings.report.deliver == "none":
            return
        now = time.monotonic()
        if now - self._report_checked < REPORT_EVERY or (self._report is not None and self._report.is_alive()):
            return
        self._report_checked = now
        self._report = threading.Thread(target=self._deliver, name="report", daemon=True)
        self._report.start()

    def _deliver(self) -> None:
        try:
            from kith.report.api import deliver_due

            assert self.store is not None
            sent = deliver_due(self.store, self.config, now=utcnow())
            if sent:
                log.info("nightly report sent (%s)", sent)
        except KithError as exc:  # e.g. no recipient configured: say so, without a traceback
            log.error("nightly report: %s%s", exc, f" ({exc.hint})" if exc.hint else "")
        except Exception:
            log.exception("nightly report check failed; trying again in %.0fs", REPORT_EVERY)


def _matplotlib_cache() -> None:
    """Under systemd the home is read-only (user unit) or none (``DynamicUser=``): matplotlib,
    which the report's charts import, keeps its cache in ``$RUNTIME_DIRECTORY`` instead."""
    runtime = os.environ.get("RUNTIME_DIRECTORY")
    if runtime and "MPLCONFIGDIR" not in os.environ:
        os.environ["MPLCONFIGDIR"] = runtime.split(":")[0]


def run(config: Config, *, config_path: Path | None = None) -> int:
    """Run the daemon until SIGTERM/SIGINT; returns the exit status."""
    os.umask(PRIVATE_UMASK)  # as the units' UMask=0077, also when started by hand
    _matplotlib_cache()
    daemon = Daemon(config, config_path=config_path)
    try:
        return daemon.run()
    except BaseException:
        daemon.notifier.stopping("failed")
        raise


__all__ = ["Daemon", "IdleWatcher", "run"]
