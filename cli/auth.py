"""`kith auth MAILBOX`: the provider's interactive authorization (OAuth for Gmail and Microsoft 365)."""

from __future__ import annotations

from typing import Annotated

import typer

from kith.cli.app import app
from kith.cli.common import console, get_config, interactive
from kith.connectors.registry import authorize


@app.command()
def auth(
    ctx: typer.Context,
    mailbox: Annotated[str, typer.Argument(help="Mailbox name (its file name in mailboxes.d/)")],
    headless: Annotated[
        bool, typer.Option("--headless", help="Print the URL and read the answer here instead of opening a browser")
    ] = False,
) -> None:
    """Authorize kith to read a mailbox; tokens are stored 0600 in the state directory."""
    config = get_config(ctx)
    mb = config.mailbox(mailbox)
    report = config.settings.report
    sends_report = report.deliver == mb.kind and report.mailbox == mb.name
    # --headless is the interactive flow without a browser (print the address, read the answer);
    # Microsoft's device-code flow needs no browser here: it prints a code to enter anywhere
    asks = interactive() or headless or mb.kind == "graph"
    options = {"open_browser": False} if headless and mb.kind == "gmail" else {}
    message = authorize(mb, state_dir=config.state_dir, interactive=asks, send=sends_report, **options)
    console.print(message)
