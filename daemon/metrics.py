"""Optional Prometheus endpoint (``[daemon] metrics_port``), bound to 127.0.0.1 only.

Counters (syncs by status, items, timeouts, duration) are kept in this process; everything that
is a fact about the database (lag since the last good sync, failures in a row, seconds until the
next run, open flags) is read from the store when Prometheus scrapes, so several workers report
the same truth and a restart loses nothing. The endpoint is never exposed beyond loopback: it
names mailboxes, which is already more than a network neighbour should learn.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from kith.daemon.scheduler import Observer
from kith.daemon.sync import MailboxResult
from kith.store.analysis_run import open_flag_counts
from kith.store.engine import Store
from kith.store.status import mailbox_status

log = logging.getLogger(__name__)


class StoreCollector(Collector):
    """Per-mailbox gauges read from the database at scrape time."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        lag = GaugeMetricFamily(
            "kith_mailbox_lag_seconds", "Seconds since every stream last synced", labels=["mailbox"]
        )
        failures = GaugeMetricFamily("kith_mailbox_failures", "Failed syncs in a row", labels=["mailbox"])
        next_run = GaugeMetricFamily("kith_mailbox_next_run_seconds", "Seconds until the next sync", labels=["mailbox"])
        items = GaugeMetricFamily("kith_mailbox_items", "Messages and events stored", labels=["mailbox"])
        auth = GaugeMetricFamily("kith_mailbox_auth_error", "1 when credentials were refused", labels=["mailbox"])
        flags = GaugeMetricFamily("kith_flags_open", "Open flags by kind", labels=["kind"])
        try:
            with self.store.engine.connect() as conn:
                rows = mailbox_status(conn)
                for kind, n in open_flag_counts(conn).items():
                    flags.add_metric([str(kind)], float(n))
        except Exception as exc:  # a scrape must never take the daemon down
            log.warning("metrics: cannot read the store: %s", exc)
            rows = []
        for mb in rows:
            name = [mb["name"]]
            if mb["lag_seconds"] is not None:
                lag.add_metric(name, float(mb["lag_seconds"]))
            failures.add_metric(name, float(mb["failures"] or 0))
            if mb.get("next_run_in_seconds") is not None:
                next_run.add_metric(name, float(mb["next_run_in_seconds"]))
            items.add_metric(name, float(mb["items"]))
            auth.add_metric(name, 1.0 if mb["auth_error"] else 0.0)
        yield from (lag, failures, next_run, items, auth, flags)


class Metrics:
    """The process's counters, an ``Observer`` for the scheduler, and the HTTP endpoint."""

    def __init__(self, store: Store) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.syncs = Counter("kith_syncs", "Finished syncs", ["mailbox", "status"], registry=self.registry)
        self.errors = Counter("kith_sync_errors", "Syncs that ended in an error", ["mailbox"], registry=self.registry)
        self.upserts = Counter(
            "kith_items_upserted", "Messages/events added or changed", ["mailbox"], registry=self.registry
        )
        self.deletions = Counter("kith_items_deleted", "Messages/events deleted", ["mailbox"], registry=self.registry)
        self.timeouts = Counter(
            "kith_sync_timeouts", "Syncs abandoned after sync_timeout", ["mailbox"], registry=self.registry
        )
        self.duration = Histogram(
            "kith_sync_duration_seconds",
            "Wall time of one mailbox sync",
            ["mailbox"],
            buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 1800),
            registry=self.registry,
        )
        self.registry.register(StoreCollector(store))
        ProcessCollector(registry=self.registry)  # CPU seconds, RSS, open fds of this worker
        self.server: Any = None

    def finished(self, name: str, result: MailboxResult, seconds: float) -> None:
        self.syncs.labels(name, result.status).inc()
        if result.status in ("error", "auth"):
            self.errors.labels(name).inc()
        self.upserts.labels(name).inc(result.upserts)
        self.deletions.labels(name).inc(result.deletions)
        self.duration.labels(name).observe(seconds)

    def timed_out(self, name: str) -> None:
        self.timeouts.labels(name).inc()
        self.errors.labels(name).inc()

    def observer(self) -> Observer:
        return Observer(finished=self.finished, timed_out=self.timed_out)

    def serve(self, port: int) -> None:
        """Listen on 127.0.0.1:``port`` in a daemon thread."""
        self.server = start_http_server(port, addr="127.0.0.1", registry=self.registry)
        log.info("metrics on http://127.0.0.1:%d/metrics", port)

    def close(self) -> None:
        if isinstance(self.server, tuple):  # prometheus-client >= 0.17 returns (server, thread)
            self.server[0].shutdown()


__all__ = ["Metrics", "StoreCollector"]
