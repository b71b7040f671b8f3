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
from tests.fakes import replica


def main(argv: list[str]) -> None:
    mailbox = GraphMailbox.model_validate_json(argv[0])
    token, out = argv[1], Path(argv[2])
    source = GraphMailSource(
        mailbox,
        state_dir=out.parent,
        token=lambda force_refresh=False: token,
        retry=RetryPolicy(attempts=2, initial=0.01, maximum=0.01),
    )
    replica.run(source, next(s for s in source.streams() if s.name == "inbox"), out)


if __name__ == "__main__":
    main(sys.argv[1:])
