"""A synced sample store for the web tests, and ``kith web`` serving it on a free port.

One store per test session (sample generated at the real current time, so the app's clock
and the analysis agree), with hostile headers mixed in and one nightly report on record.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from kith.config.load import Config, load_config
from kith.store.engine import Store, store_for
from kith.store.models import utcnow
from tests.web.hostile import write_hostile

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "web"


@dataclass
class Demo:
    config_path: Path
    config: Config
    store: Store

    def kith(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run the ``kith`` command on this store (as a user would, in its own process)."""
        return subprocess.run(
            [sys.executable, "-m", "kith", "--config", str(self.config_path), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def web_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    from kith.analysis.api import analyze
    from kith.cli.demo_pipeline import write_demo_config
    from kith.daemon.sync import sync_mailboxes
    from kith.report.data import build, recipient_of
    from kith.sample import generate
    from kith.store import reports
    from kith.store.commands import log_command

    root = tmp_path_factory.mktemp("web-demo")
    now = utcnow().replace(microsecond=0)
    info = generate(root / "sample", seed=3, messages=1200, now=now)
    write_hostile(info.mailboxes[0].path, info.me[0], now)
    config_path = write_demo_config(root, info)
    config = load_config(config_path)
    store = store_for(config)
    sync_mailboxes(config, store)
    with store.session() as session:
        analyze(session, config, now=now)
    with store.session() as session:  # one nightly report on record, as the daemon leaves it
        built = build(session, config, day=now.date(), now=now)
        claim = reports.claim(
            session,
            day=now.date(),
            recipient=recipient_of(config),
            now=now,
            message_id="<r1@kith>",
            payload=built.payload,
        )
        assert claim is not None
        reports.mark_sent(session, claim, now=now)
    with store.engine.begin() as conn:  # one refused reply-to-act command: Sync health lists it
        log_command(conn, at=now, via="work/INBOX", outcome="forged", flag_id=4242, action="done", sender="x@evil.test")
    yield Demo(config_path, config, store)
    store.dispose()


@dataclass
class Server:
    base: str
    login_url: str
    proc: subprocess.Popen[str]
    demo: Demo

    def new_login(self) -> str:
        out = self.demo.kith("web", "--url-only", "--listen", self.base.removeprefix("http://"))
        return out.stdout.strip()


@pytest.fixture(scope="session")
def web_server(web_demo: Demo) -> Iterator[Server]:
    """``kith web`` in its own process on a free port; its one-time login link read from stdout."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kith", "--config", str(web_demo.config_path), "web", "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        url = ""
        while time.monotonic() < deadline and not url:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                raise RuntimeError(f"kith web exited: {proc.stderr.read() if proc.stderr else ''}")
            found = re.search(r"http://\S+/login\?token=\S+", line)
            url = found.group(0) if found else ""
        assert url, "kith web printed no login link"
        yield Server(f"http://127.0.0.1:{port}", url, proc, web_demo)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture
def logged_in(web_server: Server) -> Iterator[httpx.Client]:
    """An HTTP client holding a fresh login cookie."""
    with httpx.Client(base_url=web_server.base, follow_redirects=False, timeout=30) as client:
        r = client.get(web_server.new_login())
        assert r.status_code == 303, r.text
        yield client


__all__ = ["ARTIFACTS", "Demo", "Server", "free_port"]


from tests.web.browser import browser  # noqa: E402,F401  (the Playwright fixture, for the browser tests)
