"""Serving the web app: where it may listen, the login link, and the HTTP server itself.

Loopback by default. Any other address is refused unless ``[web] allow_remote = true`` *and*
``tls_cert`` / ``tls_key`` are set: the pages list who you write to and why. ``kith web`` serves
in the foreground (``serve``); ``kith run`` serves from a thread (``WebServer``) beside its loop.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Callable
from pathlib import Path

from kith.config.load import Config
from kith.config.models import split_listen
from kith.errors import ConfigError, ConfigProblem
from kith.store.engine import Store
from kith.web.keys import issue_login

log = logging.getLogger(__name__)

DEFAULT_LISTEN = "127.0.0.1:8477"


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind_address(config: Config, listen: str | None = None) -> tuple[str, int, bool]:
    """(host, port, tls) to serve on; a ``ConfigError`` naming the key when it is not allowed."""
    web = config.settings.web
    file = str(config.path or "kith.toml")
    value = listen or web.listen or DEFAULT_LISTEN
    try:
        host, port = split_listen(value)
    except ValueError as exc:
        raise ConfigError([ConfigProblem(file, "web.listen", str(exc))]) from exc
    tls = bool(web.tls_cert and web.tls_key)
    if (web.tls_cert is None) != (web.tls_key is None):
        raise ConfigError(
            [ConfigProblem(file, "web.tls_cert", "tls_cert and tls_key go together: set both or neither")]
        )
    if not is_loopback(host):
        problems = []
        if not web.allow_remote:
            problems.append(
                ConfigProblem(
                    file,
                    "web.allow_remote",
                    f"{value} is not a loopback address; the web app shows your relationships, so it listens "
                    "only on 127.0.0.1 unless allow_remote = true (with TLS)",
                )
            )
        if not tls:
            problems.append(
                ConfigProblem(file, "web.tls_cert", f"listening on {value} needs TLS: set tls_cert and tls_key")
            )
        if problems:
            raise ConfigError(
                problems, hint="listen on 127.0.0.1:PORT, or set allow_remote = true with tls_cert and tls_key"
            )
    for key, path in (("web.tls_cert", web.tls_cert), ("web.tls_key", web.tls_key)):
        if path is not None and not Path(path).is_file():
            raise ConfigError([ConfigProblem(file, key, f"{path} does not exist")])
    return host, port, tls


def login_url(config: Config, host: str, port: int, tls: bool) -> str:
    """A fresh one-time login link for a server on ``host:port``."""
    token = issue_login(config.state_dir)
    name = host
    if host in ("0.0.0.0", "::"):
        name = config.settings.web.allowed_hosts[0] if config.settings.web.allowed_hosts else "127.0.0.1"
    if ":" in name:
        name = f"[{name}]"
    return f"{'https' if tls else 'http'}://{name}:{port}/login?token={token}"


def _uvicorn_config(app: object, config: Config, host: str, port: int, tls: bool) -> object:
    import uvicorn

    web = config.settings.web
    return uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=host,
        port=port,
        ssl_certfile=str(web.tls_cert) if tls and web.tls_cert else None,
        ssl_keyfile=str(web.tls_key) if tls and web.tls_key else None,
        log_level="warning",
        access_log=False,
        server_header=False,
        proxy_headers=False,
        lifespan="off",
    )


def build(config: Config, store: Store, host: str, tls: bool, **kwargs: object) -> object:
    from kith.web.app import create_app

    return create_app(config, store, listen_host=host, secure=tls, **kwargs)  # type: ignore[arg-type]


def serve(
    config: Config, store: Store, *, listen: str | None = None, ready: Callable[[str], None] | None = None
) -> None:
    """Serve in the foreground until interrupted; ``ready`` gets the login link once listening."""
    import uvicorn

    host, port, tls = bind_address(config, listen)
    app = build(config, store, host, tls)
    server = uvicorn.Server(_uvicorn_config(app, config, host, port, tls))  # type: ignore[arg-type]
    if ready is not None:
        original = server.startup

        async def startup(sockets: object = None) -> None:
            await original(sockets=sockets)  # type: ignore[arg-type]
            if server.started:
                ready(login_url(config, host, port, tls))

        server.startup = startup  # type: ignore[method-assign]
    try:
        server.run()
    except SystemExit as exc:  # uvicorn exits when it cannot bind (it logged why)
        raise ConfigError(
            [ConfigProblem(str(config.path or ""), "web.listen", f"cannot listen on {host}:{port} (in use?)")],
            hint="pick another port with --listen 127.0.0.1:PORT",
        ) from exc


class WebServer:
    """The web app served from a thread of ``kith run``; ``stop`` ends it within a second."""

    def __init__(
        self, config: Config, store: Store, *, analyze: Callable[[], None], analyzing: Callable[[], bool]
    ) -> None:
        import uvicorn

        self.host, self.port, tls = bind_address(config)
        app = build(config, store, self.host, tls, analyze=analyze, analyzing=analyzing)
        self.server = uvicorn.Server(_uvicorn_config(app, config, self.host, self.port, tls))  # type: ignore[arg-type]
        self.thread = threading.Thread(target=self.server.run, name="web", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)


__all__ = ["DEFAULT_LISTEN", "WebServer", "bind_address", "is_loopback", "login_url", "serve"]
