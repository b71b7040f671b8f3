"""kith.web: the local web app (Starlette + Jinja2, server-rendered, htmx for in-place updates).

It reads through the store and analysis APIs and holds no rule of its own. ``kith web`` serves
it; ``kith run`` serves it too when ``[web] listen`` is set. See ``kith.web.guard`` for the
security model and ``kith.web.server`` for where it may listen.
"""

from __future__ import annotations

from kith.web.app import create_app
from kith.web.server import WebServer, bind_address, login_url, serve

__all__ = ["WebServer", "bind_address", "create_app", "login_url", "serve"]
