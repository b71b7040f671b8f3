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

The threads it starts have modules of their own: ``scheduler`` (the syncs), ``analyzer`` (the
analysis after them), ``push`` (IMAP IDLE watchers), ``metrics`` and the web app.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from kith.config.load import Config, load_config
from kith.config.mailboxes import ImapMailbox, MailboxBase
from kith.config.redact import mask_url
from kith.config.secrets import PRIVATE_UMASK
from kith.daemon.analyzer import Analyzer
from kith.daemon.notify import Notifier, Waker
from kith.daemon.push import IdleWatcher
from kith.daemon.scheduler import Scheduler
from kith.daemon.sync import default_worker_id
from kith.errors import ConfigError, KithError
from kith.store import daemons, leases
from kith.store.engine import Store, store_for
from kith.store.models import utcnow
from kith.text import plural

if TYPE_CHECKING:
    from kith.daemon.metrics import Metrics
    from kith.web.server import WebServer

log = logging.getLogger(__name__)

#: Seconds a stopping daemon waits for syncs to finish their batch (the units allow 30 in all).
STOP_GRACE = 15.0
#: Longest sleep of the main loop; shorter when the watchdog wants more frequent pings.
TICK = 1.0
#: How often the nightly report is checked (deliver_due is idempotent: the reports table decides).
REPORT_EVERY = 60.0


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
        self.metrics: Metrics | None = None
        self.web: WebServer | None = None
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
        interval = self.notifier.watchdog_interval
        tick = min(TICK, interval / 4) if interval else TICK
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
                self.waker.wait(tick if not failures else min(30.0, tick * 2**failures))
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

    def _beat(self) -> None:
        """Tell `kith status` this worker is alive (a lease renewed three times per period)."""
        lease = self.config.settings.daemon.lease
        now = time.monotonic()
        if now - self._beaten < lease.total_seconds() / 3:
            return
        assert self.store is not None
        daemons.beat(self.store.engine, self.worker, lease)
        self._beaten = now

    def shutdown(self) -> None:
        self.notifier.stopping("stopping: letting the batches in flight finish")
        self.stop.set()
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
        wanted = {n: mb for n, mb in self.scheduler.mailboxes.items() if isinstance(mb, ImapMailbox) and mb.idle}
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
        period = self.config.settings.daemon.lease

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


__all__ = ["Daemon", "run"]
