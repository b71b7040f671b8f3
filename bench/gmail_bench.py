"""Gmail connector against the fake Gmail API on loopback: requests, quota units and time.

``python -m bench.gmail_bench [--messages N] [--quick]`` → bench/results/gmail.json.

The fake runs in its own process (so it does not share the GIL with the client) holding N
messages. Measured:

- **kith**: ``GmailSource.pull`` from scratch (getProfile, ``messages.list`` pages of 500,
  batch requests of 100 ``messages.get(format=metadata)``, the history replay), records built;
  then a no-change incremental pull. Requests and quota units are counted by the server.
- **floor**: a bare httplib2 loop issuing the same HTTP requests (same pages, same batch bodies),
  doing only what it must to go on: read each page's ids. It builds no records and parses no
  batch responses, so ``kith / floor`` is the whole cost of the client library and the records.

Quota units are priced as Google's usage table does (messages.get and messages.list 5,
history.list 2, getProfile 1); the time the real per-user limit (250 units/s) would impose on
such an initial sync is reported as well, since on Google that, not the CPU, is the bound.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httplib2

from bench.common import write_result
from kith.connectors.gmail.client import BATCH

ROOT = Path(__file__).resolve().parent.parent

FAKE_CHILD = """
import json, sys
from tests.fakes.gmail import FakeGoogle
fake = FakeGoogle().start()
fake.mailbox.seed(int(sys.argv[1]))
access, refresh = fake.issue_tokens()
print(json.dumps({"url": fake.url, "token_uri": fake.token_uri, "access": access, "refresh": refresh}), flush=True)
sys.stdin.read()
fake.stop()
"""


def _counts(http: httplib2.Http, url: str) -> dict[str, Any]:
    _resp, body = http.request(url + "_admin/counts")
    return dict(json.loads(body))


def _reset(http: httplib2.Http, url: str) -> None:
    http.request(url + "_admin/reset")


def run_kith(info: dict[str, Any], state_dir: Path) -> dict[str, Any]:
    import google.oauth2.credentials

    from kith.config.mailboxes import GmailMailbox
    from kith.connectors.gmail.mail import GmailSource

    mailbox = GmailMailbox(
        kind="gmail", name="bench", api_endpoint=info["url"], token_uri=info["token_uri"], quota_units_per_second=0
    )
    creds = google.oauth2.credentials.Credentials(
        info["access"], refresh_token=info["refresh"], token_uri=info["token_uri"], client_id="c", client_secret="s"
    )
    admin = httplib2.Http()
    url = info["url"]
    out: dict[str, Any] = {}
    source = GmailSource(mailbox, state_dir=state_dir, credentials=creds)
    stream = source.streams()[0]
    _reset(admin, url)
    start = time.perf_counter()
    cursor, records, batches = None, 0, 0
    for batch in source.pull(stream, None):
        records += len(batch.upserts)
        batches += 1
        cursor = batch.cursor or cursor
    out["initial"] = {
        "seconds": time.perf_counter() - start,
        "records": records,
        "batches": batches,
        **_counts(admin, url),
    }
    out["initial"]["client_units"] = source.client.budget.spent
    _reset(admin, url)
    start = time.perf_counter()
    again = sum(len(b) for b in source.pull(stream, cursor))
    out["incremental_no_change"] = {"seconds": time.perf_counter() - start, "changes": again, **_counts(admin, url)}
    source.close()
    return out


def _batch_body(ids: list[str], boundary: str, token: str) -> bytes:
    from kith.connectors.gmail.records import METADATA_HEADERS

    query = "format=metadata&" + "&".join(f"metadataHeaders={h}" for h in METADATA_HEADERS) + "&alt=json"
    parts = []
    for n, mid in enumerate(ids):
        parts.append(
            f"--{boundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
            f"MIME-Version: 1.0\r\nContent-ID: <b+{n}>\r\n\r\n"
            f"GET /gmail/v1/users/me/messages/{mid}?{query} HTTP/1.1\r\nauthorization: Bearer {token}\r\n"
            f"accept: application/json\r\n\r\n"
        )
    return ("".join(parts) + f"--{boundary}--").encode()


def run_floor(info: dict[str, Any]) -> dict[str, Any]:
    """The same requests, issued by hand: the least any client must spend."""
    http = httplib2.Http(timeout=60)
    url, token = info["url"], info["access"]
    auth = {"authorization": f"Bearer {token}"}
    _reset(http, url)
    start = time.perf_counter()
    http.request(url + "gmail/v1/users/me/profile", headers=auth)
    page = ""
    fetched = 0
    while True:
        _resp, body = http.request(
            url + f"gmail/v1/users/me/messages?maxResults=500&pageToken={page}&alt=json", headers=auth
        )
        data = json.loads(body)
        ids = [m["id"] for m in data.get("messages", [])]
        for i in range(0, len(ids), 100):
            boundary = uuid.uuid4().hex
            resp, _ = http.request(
                url + "batch/gmail/v1",
                "POST",
                body=_batch_body(ids[i : i + 100], boundary, token),
                headers={**auth, "content-type": f'multipart/mixed; boundary="{boundary}"'},
            )
            assert resp.status == 200
            fetched += len(ids[i : i + 100])
        page = data.get("nextPageToken", "")
        if not page:
            break
    http.request(url + "gmail/v1/users/me/history?startHistoryId=1&alt=json", headers=auth)
    return {"seconds": time.perf_counter() - start, "fetched": fetched, **_counts(http, url)}


def per_1k(section: dict[str, Any], n: int) -> dict[str, float]:
    requests = section["requests"]
    http = requests.get("total", 0) - requests.get("token", 0)
    return {
        "http_requests": round(http * 1000 / n, 2),
        "batch_requests": round(requests.get("batch", 0) * 1000 / n, 2),
        "quota_units": round(section["units"] * 1000 / n, 1),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=50_000)
    ap.add_argument("--quick", action="store_true", help="5,000 messages")
    args = ap.parse_args(argv)
    n = 5_000 if args.quick else args.messages
    fake = subprocess.Popen(
        [sys.executable, "-c", FAKE_CHILD, str(n)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert fake.stdout is not None
        info = json.loads(fake.stdout.readline())
        with tempfile.TemporaryDirectory() as tmp:
            run_floor(info)  # warm the server's caches and code paths once
            floor = min((run_floor(info) for _ in range(2)), key=lambda r: r["seconds"])
            kith = run_kith(info, Path(tmp))
    finally:
        if fake.stdin is not None:
            fake.stdin.close()
        fake.wait(timeout=30)
    initial, noop = kith["initial"], kith["incremental_no_change"]
    result = {
        "messages": n,
        "kith": kith,
        "floor": floor,
        "per_1k_messages": {"initial": per_1k(initial, n), "incremental_no_change": per_1k(noop, n)},
        "no_change_incremental_requests": noop["requests"].get("total", 0),
        "batch_requests_per_100_messages": round(initial["requests"].get("batch", 0) * 100 / n, 3),
        "initial_vs_floor": round(initial["seconds"] / floor["seconds"], 2),
        "initial_messages_per_second": round(n / initial["seconds"]),
        "quota_bound_seconds_at_250_units_per_s": round(initial["units"] / 250),
        # batches of BATCH (25): Gmail refuses larger ones for concurrency (see connectors/gmail/client.py)
        "targets": {"batch_requests_per_100_messages": 100 / BATCH, "no_change_incremental_requests": 1},
    }
    write_result("gmail", result)
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
