"""Child process of the SIGKILL test: pull from the fake and apply each batch to a JSON replica.

``python -m tests.connectors.gmail.crash_child MAILBOX_JSON STATE_DIR REPLICA_JSON``; prints
``applied N`` after each batch has been written (atomically, like a committed transaction).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from kith.config.mailboxes import GmailMailbox
from kith.connectors.base import Batch, MessageRecord
from kith.connectors.gmail.client import RetryPolicy
from kith.connectors.gmail.mail import GmailSource


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


def main(argv: list[str]) -> None:
    mailbox = GmailMailbox.model_validate_json(argv[0])
    state_dir, out = Path(argv[1]), Path(argv[2])
    source = GmailSource(mailbox, state_dir=state_dir, retry=RetryPolicy(attempts=2, initial=0.01, maximum=0.01))
    state = load(out)
    for n, batch in enumerate(source.pull(source.streams()[0], state["cursor"]), 1):
        apply(state, batch)
        save(out, state)
        print(f"applied {n}", flush=True)
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
