"""Where the web app may listen, and ``kith run`` serving it."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from kith.config.load import load_config
from kith.errors import ConfigError
from kith.store.engine import store_for
from kith.web.server import WebServer, bind_address, is_loopback
from tests.web.conftest import free_port


def _config(tmp_path: Path, web: str) -> object:
    (tmp_path / "kith.toml").write_text(
        f'state_dir = "{tmp_path / "state"}"\n[database]\npath = "{tmp_path / "k.db"}"\n[web]\n{web}\n'
    )
    return load_config(tmp_path / "kith.toml")


def test_loopback_is_the_default_and_fine(tmp_path: Path) -> None:
    assert bind_address(_config(tmp_path, ""), None) == ("127.0.0.1", 8477, False)  # type: ignore[arg-type]
    assert bind_address(_config(tmp_path, 'listen = "[::1]:9000"'), None) == ("::1", 9000, False)  # type: ignore[arg-type]
    assert is_loopback("localhost") and is_loopback("127.0.0.2") and not is_loopback("example.com")


def test_a_remote_address_needs_allow_remote_and_tls(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        bind_address(_config(tmp_path, ""), "0.0.0.0:8477")  # type: ignore[arg-type]
    text = str(exc.value)
    assert "web.allow_remote" in text and "web.tls_cert" in text and "kith.toml" in text
    with pytest.raises(ConfigError, match="needs TLS"):
        bind_address(_config(tmp_path, "allow_remote = true"), "192.0.2.1:8477")  # type: ignore[arg-type]
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("x")
    key.write_text("x")
    cfg = _config(tmp_path, f'allow_remote = true\ntls_cert = "{cert}"\ntls_key = "{key}"')
    assert bind_address(cfg, "0.0.0.0:8477") == ("0.0.0.0", 8477, True)  # type: ignore[arg-type]


def test_a_bad_listen_value_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"web\.listen"):
        bind_address(_config(tmp_path, ""), "localhost")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="listen"):
        _config(tmp_path, 'listen = "127.0.0.1:99999"')


def test_the_daemon_serves_the_app_when_listen_is_set(tmp_path: Path) -> None:
    port = free_port()
    config = _config(tmp_path, f'listen = "127.0.0.1:{port}"')
    store = store_for(config)  # type: ignore[arg-type]
    server = WebServer(config, store, analyze=lambda: None, analyzing=lambda: False)  # type: ignore[arg-type]
    server.start()
    try:
        deadline, status = time.monotonic() + 20, 0
        while time.monotonic() < deadline and not status:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/").status_code
            except httpx.TransportError:
                time.sleep(0.1)
        assert status == 401
    finally:
        server.stop()
        store.dispose()
    assert not server.thread.is_alive()
