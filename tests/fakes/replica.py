"""A JSON file standing in for the store in the SIGKILL tests, and both sides of those tests.

The child (``python -m tests.connectors.<provider>.crash_child ...``) builds its source and
``run``s one stream into the replica: each batch is applied and the file replaced atomically,
like a committed transaction, then ``applied N`` is printed. The test starts it with
``kill_after_first_batch``, which SIGKILLs it mid-sync and returns what it left behind, and
resumes from there with ``apply``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from kith.connectors.base import Batch, MessageRecord, Source, Stream

ROOT = Path(__file__).resolve().parents[2]


def load(path: Path) -> dict[str, Any]:
    if path.exists():
        return dict(json.loads(path.read_text()))
    return {"items": {}, "cursor": None}


def apply(state: dict[str, Any], batch: Batch) -> None:
    for rec in batch.upserts:
        assert isinstance(rec, MessageRecord)
        state["items"][rec.provider_key] = rec.message_id
    for key in batch.deletions:
        state["items"].pop(key, None)
    if batch.cursor is not None:
        state["cursor"] = batch.cursor


def save(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state))
    os.replace(tmp, path)


def run(source: Source, stream: Stream, out: Path) -> None:
    """The child's work: pull ``stream`` from where the replica stands, saying ``applied N`` per batch."""
    state = load(out)
    for n, batch in enumerate(source.pull(stream, state["cursor"]), 1):
        apply(state, batch)
        save(out, state)
        print(f"applied {n}", flush=True)
    print("done", flush=True)


def kill_after_first_batch(module: str, *args: str, replica: Path, release: threading.Event) -> dict[str, Any]:
    """Run ``python -m module *args``, SIGKILL it once it has applied a batch, and load its replica.

    ``release`` (the fake's) is set after the kill, freeing the request the fake was holding up.
    """
    child = subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "applied 1"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    release.set()
    return load(replica)


__all__ = ["apply", "kill_after_first_batch", "load", "run", "save"]
