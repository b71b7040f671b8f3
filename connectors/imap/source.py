"""``ImapSource``: one IMAP mailbox as kith streams, over one reused connection.

The connection opens on first use and is reused for every folder of a sync run; any error drops
it (its state is unknown after a failure), and the next call — the engine's retry — opens a
fresh one and resumes from the stored cursor. Extensions are switched on right after login
(``ENABLE`` is refused once a folder is selected): QRESYNC, else CONDSTORE, unless the mailbox
says ``use_condstore = false`` (``wire.enable_extensions``).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kith.config.mailboxes import ImapMailbox
from kith.connectors.base import JSON, BaseSource, Batch, CheckReport, Known, Stream, no_known
from kith.connectors.imap.connect import Alerts, TokenProvider, connect, logout, map_errors
from kith.connectors.imap.folders import Folder, parse_list, select_streams
from kith.connectors.imap.idle import Idler
from kith.connectors.imap.sync import Session, pull_folder
from kith.connectors.imap.wire import enable_extensions, list_special_use
from kith.connectors.parallel import HelperProcess
from kith.errors import KithError

log = logging.getLogger(__name__)


class ImapSource(BaseSource):
    def __init__(
        self,
        mailbox: ImapMailbox,
        *,
        state_dir: Path | None = None,
        token_provider: TokenProvider | None = None,
    ) -> None:
        self.mailbox = mailbox
        self.state_dir = state_dir
        self.token_provider = token_provider
        self._alerts = Alerts()
        #: Commands issued, by kind (``fetch_headers``, ``fetch_flags``, ``status``…): for tests and benches.
        self.stats: Counter[str] = Counter()
        self._session: Session | None = None
        self._helper = HelperProcess()
        self._idler = Idler(mailbox, self._alerts, token_provider)
        self.folders: list[Folder] = []

    @property
    def alerts(self) -> list[str]:
        """``[ALERT]``/``[THROTTLED]``/``[OVERQUOTA]`` texts the server sent (shown by ``kith status``)."""
        return self._alerts.items

    # -- connection -----------------------------------------------------------------------------

    def session(self) -> Session:
        if self._session is None:
            client = connect(self.mailbox, self._alerts, self.token_provider)
            self.stats["connect"] += 1
            with self._op("enabling extensions"):
                caps = {c.upper() for c in client.capabilities()}
                condstore, qresync = enable_extensions(client, caps, self.mailbox.use_condstore)
                self._session = Session(
                    client,
                    condstore=condstore,
                    qresync=qresync,
                    gmail=b"X-GM-EXT-1" in caps,
                    stats=self.stats,
                    helper=self._helper,
                )
        return self._session

    def _drop(self) -> None:
        if self._session is not None:
            try:
                self._session.client.shutdown()
            except Exception:
                pass
            self._session = None

    @contextmanager
    def _op(self, doing: str) -> Iterator[None]:
        try:
            with map_errors(self.mailbox, self._alerts, doing):
                yield
        except KithError:
            self._drop()
            raise
        finally:
            if self._session is not None:
                self._alerts.collect(self._session.client)

    # -- Source protocol ------------------------------------------------------------------------

    def streams(self) -> list[Stream]:
        session = self.session()
        with self._op("listing folders"):
            self.folders = parse_list(session.client.list_folders())
            if not any(f.attrs - {b"\\haschildren", b"\\hasnochildren", b"\\noinferiors"} for f in self.folders):
                self.folders = self._special_use_list(session) or self.folders
        missing = set(self.mailbox.folders) - {f.name for f in self.folders}
        if missing:
            log.warning("%s: configured folders not on the server: %s", self.mailbox.name, ", ".join(sorted(missing)))
        return select_streams(self.folders, self.mailbox, gmail=session.gmail)

    def _special_use_list(self, session: Session) -> list[Folder]:
        """``LIST "" "*" RETURN (SPECIAL-USE)`` for servers that only announce roles when asked."""
        if not session.client.has_capability("SPECIAL-USE"):
            return []
        return parse_list(list_special_use(session.client))

    def pull(self, stream: Stream, cursor: JSON | None, known: Known = no_known) -> Iterator[Batch]:
        session = self.session()
        with self._op(f"syncing {stream.name}"):
            # the folder a whole pass left selected answers "no change" with one NOOP
            if session.quiet(stream.name, cursor):
                return
            last = cursor
            for batch in pull_folder(session, stream, cursor, known, self.mailbox.batch_size):
                last = batch.cursor if batch.cursor is not None else last
                yield batch
            session.watch(stream.name, last)

    def check(self) -> CheckReport:
        """``kith check``: login, TLS, capabilities, folders and the first sync's size (read-only)."""
        from kith.connectors.imap.check import check

        with self._op("checking the account"):
            return check(self)

    def wait_for_changes(self, timeout: float, stop: threading.Event | None = None) -> bool:
        """IDLE on INBOX until something changes (True) or ``timeout`` passes (False); see ``idle``."""
        return self._idler.wait(timeout, stop)

    def close(self) -> None:
        self._helper.close()
        if self._session is not None:
            logout(self._session.client)
            self._session = None
        self._idler.close()


__all__ = ["ImapSource"]
