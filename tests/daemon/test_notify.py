"""sd_notify over a real datagram socket, and journald-style log lines."""

from __future__ import annotations

import io
import logging
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from kith.daemon import logs
from kith.daemon.notify import Notifier


@pytest.fixture
def listener() -> Iterator[tuple[str, socket.socket]]:
    directory = tempfile.mkdtemp(prefix="kn")  # unix socket paths must stay short
    path = str(Path(directory) / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(2)
    yield path, sock
    sock.close()
    os.unlink(path)
    os.rmdir(directory)


def received(sock: socket.socket) -> list[dict[str, str]]:
    out = []
    sock.setblocking(False)
    try:
        while True:
            data = sock.recv(4096).decode()
            out.append(dict(line.split("=", 1) for line in data.splitlines()))
    except BlockingIOError:
        pass
    finally:
        sock.setblocking(True)
    return out


def test_ready_status_watchdog_and_stopping(listener: tuple[str, socket.socket]) -> None:
    path, sock = listener
    n = Notifier(path, watchdog_usec="2000000", watchdog_pid=str(os.getpid()))
    assert n.enabled and n.watchdog_interval == 2.0
    n.ready("ready; 2 mailboxes")
    n.status("ready; 2 mailboxes")  # unchanged: not sent again
    n.status("syncing work")
    assert n.watchdog(now=100.0)
    assert not n.watchdog(now=100.5), "at most every half period"
    assert n.watchdog(now=101.0)
    n.stopping()
    msgs = received(sock)
    assert msgs[0] == {"READY": "1", "STATUS": "ready; 2 mailboxes", "MAINPID": str(os.getpid())}
    assert msgs[1] == {"STATUS": "syncing work"}
    assert msgs[2] == msgs[3] == {"WATCHDOG": "1"}
    assert msgs[4]["STOPPING"] == "1" and len(msgs) == 5
    n.close()


def test_abstract_socket_and_no_socket() -> None:
    name = f"kith-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    try:
        assert Notifier("@" + name).send(READY=1)
        assert sock.recv(100) == b"READY=1"
    finally:
        sock.close()
    quiet = Notifier("", watchdog_usec="", watchdog_pid="")
    assert not quiet.enabled and not quiet.send(READY=1) and not quiet.watchdog()


def test_watchdog_for_another_pid_is_ignored() -> None:
    assert Notifier("", watchdog_usec="1000000", watchdog_pid="1").watchdog_interval is None


def test_journald_lines_have_priority_and_no_time(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with open(tmp_path / "stream", "w") as fh:
        st = os.fstat(fh.fileno())
        monkeypatch.setenv("JOURNAL_STREAM", f"{st.st_dev}:{st.st_ino}")
        assert logs.configure(stream=fh)
        logging.getLogger("kith.test").warning("two\nlines")
        logging.getLogger("kith.test").info("fine")
    text = (tmp_path / "stream").read_text()
    assert text.splitlines() == [
        "<4>kith.test [MainThread]: two",
        "<4>lines",
        "<6>kith.test [MainThread]: fine",
    ]
    other = io.StringIO()  # stderr redirected elsewhere: timestamps again
    assert not logs.configure(stream=other)
    logging.getLogger("kith.test").error("boom")
    assert " ERROR kith.test [MainThread]: boom" in other.getvalue()
    logging.getLogger().handlers.clear()
