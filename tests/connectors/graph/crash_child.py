"""Child process of the Graph SIGKILL test: pull one folder and apply each batch to a JSON replica.

``python -m tests.connectors.graph.crash_child MAILBOX_JSON TOKEN REPLICA_JSON``; prints
``applied N`` after each batch has been written (atomically, like a committed transaction).
"""

from __future__ import annotations

import sys
from pathlib import Path

from kith.config.mailboxes import GraphMailbox
from kith.connectors.graph.client import RetryPolicy
from kith.connectors.graph.mail import GraphMailSource
from tests.connectors.gmail.crash_child import apply, load, save


def main(argv: list[str]) -> None:
    mailbox = GraphMailbox.model_validate_json(argv[0])
    token, out = argv[1], Path(argv[2])
    source = GraphMailSource(
        mailbox,
        state_dir=out.parent,
        token=lambda force_refresh=False: token,
        retry=RetryPolicy(attempts=2, initial=0.01, maximum=0.01),
    )
    stream = next(s for s in source.streams() if s.name == "inbox")
    state = load(out)
    for n, batch in enumerate(source.pull(stream, state["cursor"]), 1):
        apply(state, batch)
        save(out, state)
        print(f"applied {n}", flush=True)
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
