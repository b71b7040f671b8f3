"""`kith web`: serve the local web app, and hand out one-time login links to it."""

from __future__ import annotations

from typing import Annotated

import typer

from kith.cli.app import app
from kith.cli.common import console, err_console, get_config


@app.command()
def web(
    ctx: typer.Context,
    listen: Annotated[
        str | None, typer.Option("--listen", help="HOST:PORT (default: \\[web] listen, else 127.0.0.1:8477)")
    ] = None,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the one-time login link in a browser")] = False,
    url_only: Annotated[
        bool, typer.Option("--url-only", help="Only print a login link for the app `kith run` already serves")
    ] = False,
) -> None:
    """The web app: what needs attention, people, sync health, past reports (Ctrl-C stops it)."""
    from kith.web.server import bind_address, login_url, serve

    config = get_config(ctx)
    if url_only:
        host, port, tls = bind_address(config, listen)
        console.print(login_url(config, host, port, tls), soft_wrap=True)
        return
    from kith.store.engine import store_for

    # the web process reads a few pages a request: a small SQLite page cache keeps it light
    store = store_for(config, cache_mib=8)

    def ready(url: str) -> None:
        err_console.print("kith web is listening; log in once with this link (it works once, for 10 minutes):")
        console.print(url, soft_wrap=True)
        console.file.flush()  # a script or test reads the link from a pipe while we serve
        if open_browser:
            import webbrowser

            webbrowser.open(url)

    try:
        serve(config, store, listen=listen, ready=ready)
    finally:
        store.dispose()
