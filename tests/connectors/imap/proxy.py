"""A TCP proxy that cuts the first connection after N bytes from the server: a link dropped mid-FETCH."""

from __future__ import annotations

import socket
import threading
from typing import Any


class CuttingProxy:
    """Listens on ``port``; relays to ``upstream``; the first ``cuts`` connections die after ``after`` bytes."""

    def __init__(self, upstream: tuple[str, int], *, after: int, cuts: int = 1) -> None:
        self.upstream = upstream
        self.after = after
        self.cuts_left = cuts
        self.cut = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            limit = None
            if self.cuts_left > 0:
                self.cuts_left -= 1
                limit = self.after
            server = socket.create_connection(self.upstream)
            threading.Thread(target=self._pipe, args=(client, server, None), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, limit), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, limit: int | None) -> None:
        sent = 0
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if limit is not None and sent + len(data) >= limit:
                    dst.sendall(data[: max(0, limit - sent)])
                    self.cut += 1
                    break
                dst.sendall(data)
                sent += len(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def close(self) -> None:
        self._stop.set()
        self.listener.close()

    def __enter__(self) -> CuttingProxy:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
