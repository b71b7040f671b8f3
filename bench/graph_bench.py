"""Graph connector against the fake Microsoft Graph on loopback: requests, pages, header cost, time.

``python -m bench.graph_bench [--messages N] [--quick] [--page-size P]`` → bench/results/graph.json.

The fake runs in its own process (so it does not share the GIL with the client) holding the
"work" mailbox of a ``kith.sample`` world of N messages (inbox, sentitems, archive, and a few in
junk/trash/drafts that are not synced). Measured:

- **kith**: ``GraphMailSource.pull`` of every folder from scratch (``messages/delta`` pages of
  ``Prefer: odata.maxpagesize=P``, then ``$batch`` requests of 20 header fetches (4 dependsOn chains) for mail from
  others), records built; then a no-change incremental pull (target: one request per folder).
- **kith without headers**: the same with the header fetch off, so the cost of the raw-header
  fetch (requests and seconds) is the difference.
- **floor**: a bare httpx loop issuing the same HTTP requests (same delta pages, same ``$batch``
  bodies), doing only what it must to go on: read each page's nextLink and ids. It builds no
  records, so ``kith / floor`` is the whole cost of the client side.

Requests are counted by the server. On the real service the bound is Graph's throttling (about
10,000 requests per 10 minutes per app and mailbox), so requests per 1,000 messages is the number
that matters most; ``throttle_bound_seconds`` is what that limit alone would impose.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import write_result

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("inbox", "sentitems", "archive")
#: Graph's documented per-app-per-mailbox limit: 10,000 requests in 10 minutes.
GRAPH_REQUESTS_PER_SECOND = 10_000 / 600

FAKE_CHILD = """
import json, sys
from datetime import UTC, datetime
from kith.sample.generator import build_world
from tests.fakes.graph import FakeGraph
world = build_world(1, int(sys.argv[1]), datetime(2026, 11, 24, 6, tzinfo=UTC), None)
fake = FakeGraph(email=world.me["work"].address).start()
n = fake.mailbox.load_world(world)
folders = {f: len(fake.mailbox.in_folder(f)) for f in ("inbox", "sentitems", "archive")}
print(json.dumps({"url": fake.url, "api": fake.api_url, "token": fake.issue_token(), "email": fake.user_email,
                  "loaded": n, "folders": folders}), flush=True)
sys.stdin.read()
fake.stop()
"""


def _counts(http: httpx.Client, url: str) -> dict[str, Any]:
    data = http.get(url + "_admin/counts").json()
    sizes = data.pop("batch_sizes", [])
    data["batch_parts"] = sum(sizes)
    return dict(data)


def _reset(http: httpx.Client, url: str) -> None:
    http.get(url + "_admin/reset")


def _source(info: dict[str, Any], page_size: int, *, headers: bool) -> Any:
    from kith.config.mailboxes import GraphMailbox
    from kith.connectors.graph.mail import GraphMailSource

    mailbox = GraphMailbox(
        kind="graph",
        name="bench",
        client_id="bench",
        addresses=(info["email"],),
        api_endpoint=info["api"],
        page_size=page_size,
    )
    token = info["token"]
    return GraphMailSource(
        mailbox, state_dir=Path("/nonexistent"), token=lambda force_refresh=False: token, fetch_headers=headers
    )


def run_kith(info: dict[str, Any], page_size: int, *, headers: bool = True) -> dict[str, Any]:
    admin = httpx.Client(timeout=60)
    url = info["url"]
    source = _source(info, page_size, headers=headers)
    _reset(admin, url)
    start = time.perf_counter()
    cursors: dict[str, Any] = {}
    records = batches = 0
    for stream in source.streams():
        for batch in source.pull(stream, None):
            records += len(batch.upserts)
            batches += 1
            cursors[stream.name] = batch.cursor or cursors.get(stream.name)
    out: dict[str, Any] = {
        "initial": {
            "seconds": time.perf_counter() - start,
            "records": records,
            "batches": batches,
            "pages": source.stats["pages"],
            "header_batches": source.stats["header_batches"],
            "header_calls": source.stats["header_calls"],
            **_counts(admin, url),
        }
    }
    _reset(admin, url)
    start = time.perf_counter()
    changes = sum(len(b) for s in source.streams() for b in source.pull(s, cursors[s.name]))
    out["incremental_no_change"] = {"seconds": time.perf_counter() - start, "changes": changes, **_counts(admin, url)}
    source.close()
    return out


def run_floor(info: dict[str, Any], page_size: int) -> dict[str, Any]:
    """The same requests issued by hand: the least any client must spend."""
    from kith.connectors.graph.mail import EXTRAS_QUERY
    from kith.connectors.graph.records import MESSAGE_FIELDS

    http = httpx.Client(timeout=60, headers={"Authorization": f"Bearer {info['token']}"})
    url, api, me = info["url"], info["api"], info["email"]
    prefer = {"Prefer": f'odata.maxpagesize={page_size}, IdType="ImmutableId"'}
    _reset(http, url)
    start = time.perf_counter()
    fetched = 0
    for folder in FOLDERS:
        link: str | None = f"{api}/me/mailFolders/{folder}/messages/delta?$select={','.join(MESSAGE_FIELDS)}"
        while link:
            page = http.get(link, headers=prefer).json()
            link = page.get("@odata.nextLink")
            if folder == "sentitems":
                continue
            ids = [m["id"] for m in page["value"] if m.get("from", {}).get("emailAddress", {}).get("address") != me]
            for i in range(0, len(ids), 20):
                reqs = [
                    {"id": mid, "method": "GET", "url": f"/me/messages/{mid}?{EXTRAS_QUERY}"} for mid in ids[i : i + 20]
                ]
                assert http.post(f"{api}/$batch", json={"requests": reqs}).status_code == 200
                fetched += len(reqs)
    return {"seconds": time.perf_counter() - start, "header_calls": fetched, **_counts(http, url)}


def per_1k(section: dict[str, Any], n: int) -> dict[str, float]:
    requests = section["requests"]
    http = requests.get("total", 0)
    return {
        "http_requests": round(http * 1000 / n, 2),
        "delta_requests": round(requests.get("api", 0) * 1000 / n, 2),
        "batch_requests": round(requests.get("batch", 0) * 1000 / n, 2),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=50_000)
    ap.add_argument("--quick", action="store_true", help="5,000 messages")
    ap.add_argument("--page-size", type=int, default=100)
    args = ap.parse_args(argv)
    size = 5_000 if args.quick else args.messages
    fake = subprocess.Popen(
        [sys.executable, "-c", FAKE_CHILD, str(size)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert fake.stdout is not None
        info = json.loads(fake.stdout.readline())
        run_floor(info, args.page_size)  # warm the server's code paths once
        floor = min((run_floor(info, args.page_size) for _ in range(2)), key=lambda r: r["seconds"])
        bare = run_kith(info, args.page_size, headers=False)
        kith = run_kith(info, args.page_size)
    finally:
        if fake.stdin is not None:
            fake.stdin.close()
        fake.wait(timeout=60)
    n = sum(info["folders"].values())
    initial, noop, plain = kith["initial"], kith["incremental_no_change"], bare["initial"]
    result = {
        "sample_messages": size,
        "synced_messages": n,
        "folders": info["folders"],
        "page_size": args.page_size,
        "kith": kith,
        "kith_without_headers": plain,
        "floor": floor,
        "per_1k_messages": {"initial": per_1k(initial, n), "incremental_no_change": per_1k(noop, n)},
        "no_change_incremental_requests": noop["requests"].get("total", 0),
        "header_fetch": {
            "messages_needing_headers": initial["header_calls"],
            "share_of_messages": round(initial["header_calls"] / n, 3),
            "extra_requests": initial["requests"].get("batch", 0),
            "extra_requests_per_1k_messages": round(initial["requests"].get("batch", 0) * 1000 / n, 2),
            "extra_seconds": round(initial["seconds"] - plain["seconds"], 3),
            "time_share": round(1 - plain["seconds"] / initial["seconds"], 3),
        },
        "initial_vs_floor": round(initial["seconds"] / floor["seconds"], 2),
        "initial_messages_per_second": round(n / initial["seconds"]),
        "throttle_bound_seconds": round(initial["requests"].get("total", 0) / GRAPH_REQUESTS_PER_SECOND),
        "targets": {"no_change_incremental_requests": len(FOLDERS)},
    }
    write_result("graph", result)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
