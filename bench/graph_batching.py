"""Which ``$batch`` shape finishes a Graph first sync sooner under Outlook's limits, in simulated time.

``python -m bench.graph_batching [--messages N] [--rtt S] [--op S]`` → bench/results/graph_batching.json.

Outlook runs at most 4 requests per mailbox at once and takes at most 10,000 per 10 minutes
(``tests/fakes/graph/limits.py`` cites both). Two ways to fetch raw headers within the first:

- ``independent``: batches of 4 independent parts, all four run at once;
- ``chains``: batches of 20 parts as 4 ``dependsOn`` chains of 5 (one HTTP exchange, each chain
  run one part after the other);
- ``batch20``: the old way, 20 independent parts, of which Outlook refuses 16 per batch (429).

The real connector (``GraphMailSource`` with its ``QuotaBudget`` pacing and ``RetryPolicy``)
syncs N seeded messages from the fake Graph, whose ``SimClock`` charges every HTTP exchange one
round trip (``--rtt``) plus, per lane of a batch, the Outlook operations run in it (``--op``
each); the client's sleeps (pacing, Retry-After) advance the same clock. The reported minutes are
that simulated time, the requests are the fake's count.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import write_result
from kith.config.mailboxes import GraphMailbox
from kith.connectors.graph import client as graph_client
from kith.connectors.graph.mail import GraphMailSource
from kith.connectors.retry import RetryPolicy
from tests.connectors.contract import Replica
from tests.fakes.graph import FakeGraph
from tests.fakes.graph.limits import SimClock

SHAPES = {"independent": 4, "chains": 20, "batch20": 20}


def run(shape: str, n: int, rtt: float, op: float) -> dict[str, Any]:
    random.seed(1)
    fake = FakeGraph().start()
    try:
        fake.mailbox.seed(n)
        sim = SimClock(rtt=rtt, op_time=op)
        fake.sim = sim
        mailbox = GraphMailbox(
            kind="graph",
            name="bench",
            client_id="bench",
            addresses=(fake.user_email,),
            api_endpoint=fake.api_url,
            page_size=100,
        )
        token = fake.issue_token()
        chained = shape != "batch20"
        saved = graph_client.MAILBOX_CONCURRENCY
        graph_client.MAILBOX_CONCURRENCY = 4 if chained else graph_client.MAX_BATCH  # batch20: no chains
        try:
            with tempfile.TemporaryDirectory() as state:
                source = GraphMailSource(
                    mailbox,
                    state_dir=Path(state),
                    token=lambda force_refresh=False: token,
                    retry=RetryPolicy(attempts=12, sleep=sim.sleep),
                    clock=sim,
                )
                source.client.batch_size = SHAPES[shape]
                started = time.monotonic()
                for stream in source.streams():
                    Replica().sync(source, stream)
                wall = time.monotonic() - started
                stats = dict(source.stats)
                source.close()
        finally:
            graph_client.MAILBOX_CONCURRENCY = saved
        counts = fake.counts()
        return {
            "shape": shape,
            "batch_size": SHAPES[shape],
            "simulated_minutes": round(sim.now / 60, 2),
            "http_requests": counts["requests"].get("total", 0),
            "outlook_requests": sum(v for k, v in counts["calls"].items()),
            "concurrency_refusals": fake.concurrency_refusals,
            "quota_refusals": fake.window.refused,
            "header_calls": stats.get("header_calls", 0),
            "wall_seconds": round(wall, 1),
        }
    finally:
        fake.stop()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=50_000)
    ap.add_argument("--rtt", type=float, default=0.15, help="seconds per HTTP exchange")
    ap.add_argument("--op", type=float, default=0.05, help="seconds per Outlook operation")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("shapes", nargs="*", default=list(SHAPES))
    args = ap.parse_args(argv)
    n = 2_000 if args.quick else args.messages
    results = [run(shape, n, args.rtt, args.op) for shape in args.shapes]
    for r in results:
        print(
            f"{r['shape']:12} {r['simulated_minutes']:8.2f} min  {r['http_requests']:6d} HTTP  "
            f"{r['outlook_requests']:6d} Outlook  429s: {r['concurrency_refusals']} concurrency, "
            f"{r['quota_refusals']} quota  ({r['wall_seconds']} s wall)"
        )
    out = {"messages": n, "rtt": args.rtt, "op_time": args.op, "results": results}
    write_result("graph_batching", out)
    return out


if __name__ == "__main__":
    main()
