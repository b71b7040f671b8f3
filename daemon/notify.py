"""Messages in and out of the main loop: sd_notify to systemd, and wake-ups for the loop itself.

sd_notify without libsystemd: one datagram per state change to ``$NOTIFY_SOCKET``.

systemd's ``Type=notify`` protocol is a few ``KEY=VALUE`` lines sent to a unix datagram socket
(a path, or an abstract name written with a leading ``@``). Implementing it with a plain socket
keeps the daemon free of a C dependency, and makes it trivial for tests to read what we send.
When the variable is unset (a terminal, a container) every call is a cheap no-op.

The watchdog is only fed by the main loop, never by a timer thread: a main loop that hangs must
stop the pings so that systemd restarts us, while a hung mailbox must not (it runs elsewhere).
"""

from __future__ import annotations

import logging
import os
import select
import socket
import time

log = logging.getLogger(__name__)


class Notifier:
    """Talks to the service manager named by ``$NOTIFY_SOCKET`` (or to nobody)."""

    def __init__(
        self, address: str | None = None, *, watchdog_usec: str | None = None, watchdog_pid: str | None = None
    ):
        address = os.environ.get("NOTIFY_SOCKET") if address is None else address
        self.address: str | None = None
        if address:
            # abstract namespace sockets are written with "@" and addressed with a NUL byte
            self.address = "\0" + address[1:] if address.startswith("@") else address
        self._sock: socket.socket | None = None
        usec = os.environ.get("WATCHDOG_USEC") if watchdog_usec is None else watchdog_usec
        pid = os.environ.get("WATCHDOG_PID") if watchdog_pid is None else watchdog_pid
        self.watchdog_interval: float | None = None
        if usec and usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid())):
            self.watchdog_interval = int(usec) / 1_000_000
        self._last_ping = 0.0
        self._last_status: str | None = None

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, **fields: object) -> bool:
        """Send ``KEY=VALUE`` lines; never raises or blocks (a lost notification must not stop the daemon)."""
        if self.address is None:
            return False
        payload = "\n".join(f"{k}={v}" for k, v in fields.items()).encode()
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                # never block the main loop on a reader that is slow or gone: drop the message
                self._sock.setblocking(False)
            self._sock.sendto(payload, self.address)
            return True
        except OSError as exc:
            log.debug("sd_notify %r failed: %s", payload, exc)
            return False

    def ready(self, status: str | None = None) -> None:
        fields: dict[str, object] = {"READY": 1}
        if status:
            fields["STATUS"] = status
            self._last_status = status
        fields["MAINPID"] = os.getpid()
        self.send(**fields)

    def status(self, text: str) -> None:
        """STATUS=, sent only when it changed (systemctl status shows the latest)."""
        if text != self._last_status:
            self._last_status = text
            self.send(STATUS=text)

    def reloading(self) -> None:
        self.send(RELOADING=1, MONOTONIC_USEC=time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000)

    def stopping(self, status: str = "stopping") -> None:
        self.send(STOPPING=1, STATUS=status)

    def watchdog(self, *, now: float | None = None) -> bool:
        """WATCHDOG=1 at most every half watchdog period; True when a ping went out."""
        if self.watchdog_interval is None:
            return False
        now = time.monotonic() if now is None else now
        if now - self._last_ping < self.watchdog_interval / 2:
            return False
        self._last_ping = now
        return self.send(WATCHDOG=1)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


class Waker:
    """Wakes the main loop: from sync threads, push watchers, and signals.

    Signal handlers must not take locks (``threading.Event.set`` does: a signal that arrives
    while the main thread is inside ``Event.wait`` deadlocks it), so the loop sleeps in
    ``select`` on a socketpair instead; ``signal.set_wakeup_fd`` makes the kernel-level signal
    write to it, and threads write a byte too.
    """

    def __init__(self) -> None:
        self._r, self._w = socket.socketpair()
        self._r.setblocking(False)
        self._w.setblocking(False)

    def fileno(self) -> int:
        return self._w.fileno()

    def wake(self) -> None:
        try:
            self._w.send(b"\0")
        except (BlockingIOError, OSError):
            pass  # already full: the loop wakes anyway

    def wait(self, timeout: float) -> None:
        select.select([self._r], [], [], timeout)
        try:
            while self._r.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def close(self) -> None:
        self._r.close()
        self._w.close()


__all__ = ["Notifier", "Waker"]
