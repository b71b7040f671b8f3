"""The app factory: routes, the gate in front of them (with the Host allow-list), static files.

``create_app`` takes everything from its caller (config, store, clock, the analysis hook), so
``kith web``, ``kith run`` and the tests build the same app around their own pieces.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from kith.config.load import Config
from kith.store.engine import Store
from kith.store.models import utcnow
from kith.web import act, people, records, session, today
from kith.web.context import Analyses, Context
from kith.web.guard import Guard, host_name
from kith.web.keys import Signer, load_key
from kith.web.render import Pages, make_env

STATIC = Path(__file__).resolve().parent / "static"
#: The names a browser on this machine uses for a loopback listener.
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


def allowed_hosts(config: Config, listen_host: str | None) -> list[str]:
    """The Host header names accepted: loopback, the listen address, ``[web] allowed_hosts``,
    and the host of ``[web] public_url``."""
    names = [*LOOPBACK_NAMES, *config.settings.web.allowed_hosts]
    public = config.settings.web.public_url
    if public:  # the report's links name this host: a proxy in front passes it on
        names.append(host_name(urlsplit(public).netloc))
    if listen_host and listen_host not in ("0.0.0.0", "::"):
        names.append(f"[{listen_host}]" if ":" in listen_host else listen_host)
    return list(dict.fromkeys(names))


def create_app(
    config: Config,
    store: Store,
    *,
    listen_host: str | None = None,
    secure: bool = False,
    clock: Callable[[], datetime] = utcnow,
    analyze: Callable[[], None] | None = None,
    analyzing: Callable[[], bool] | None = None,
    hosts: Iterable[str] | None = None,
) -> Starlette:
    """The web app over ``store``. ``analyze``: asks for an analysis run (default: one in a
    thread of this process); ``secure``: served over TLS (the cookie is then Secure)."""
    state_dir = config.state_dir
    signer = Signer(load_key(state_dir), lifetime=config.settings.web.session_lifetime.total_seconds())
    if analyze is None:
        runner = Analyses(store, config, clock)
        analyze, analyzing = runner.submit, runner.running
    ctx = Context(
        config=config,
        store=store,
        pages=Pages(make_env(), signer),
        clock=clock,
        analyze=analyze,
        analyzing=analyzing or (lambda: False),
        state_dir=state_dir,
        secure=secure,
    )
    routes = [
        *session.routes(ctx, signer),
        *today.routes(ctx),
        *people.routes(ctx),
        *records.routes(ctx),
        *act.routes(ctx),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [Middleware(Guard, signer=signer, secure=secure, hosts=hosts or allowed_hosts(config, listen_host))]
    app = Starlette(routes=routes, middleware=middleware)
    app.state.context = ctx
    return app


__all__ = ["LOOPBACK_NAMES", "allowed_hosts", "create_app"]
