"""Process helpers every room may use (like kith.errors, this imports nothing of kith).

Both the connectors' parsing helper (``kith.connectors.parallel``) and the rebuild's derive helper
(``kith.analysis.rebuild_helper``) run child processes that must not outlive kith; the watch lives here so
neither room reaches into the other for it.
"""

from __future__ import annotations

import os
import select
import threading
import time


def exit_with(parent: int) -> None:
    """In the helper: exit as soon as ``parent`` (the kith process) is gone, however it ended.

    A forkserver worker holds the write ends of its own call queue and of the forkserver's
    liveness pipe, so after a SIGKILL of kith neither ever sees end-of-file: without this the
    worker, the forkserver and the resource tracker would live on as orphans (seen in the daemon
    tests). A pidfd becomes readable when the process ends; polling is the fallback.
    """

    def watch() -> None:
        try:
            fd = os.pidfd_open(parent)
            select.select([fd], [], [])
        except (AttributeError, OSError):  # no pidfd here, or the parent is already gone
            while True:
                try:
                    os.kill(parent, 0)
                except ProcessLookupError:
                    break
                except PermissionError:  # alive, under another user (cannot happen for a parent)
                    pass
                time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


__all__ = ["exit_with"]
