"""Child process of the SIGKILL test: pull from the fake and apply each batch to a JSON replica.

``python -m tests.connectors.gmail.crash_child MAILBOX_JSON STATE_DIR REPLICA_JSON``; prints
``applied N`` after each batch has been written (atomically, like a committed transaction).
"""

from __future__ import annotations

import sys
from pathlib import Path

from kith.config.mailboxes import GmailMailbox
from kith.connectors.gmail.client import RetryPolicy
from kith.connectors.gmail.mail import GmailSource
from tests.fakes import replica


def main(argv: list[str]) -> None:
    mailbox = GmailMailbox.model_validate_json(argv[0])
    state_dir, out = Path(argv[1]), Path(argv[2])
    source = GmailSource(mailbox, state_dir=state_dir, retry=RetryPolicy(attempts=2, initial=0.01, maximum=0.01))
    replica.run(source, source.streams()[0], out)


if __name__ == "__main__":
    main(sys.argv[1:])
