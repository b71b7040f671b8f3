"""`kith run`: the daemon in the foreground (what systemd runs; see systemd/README.md)."""

from __future__ import annotations

import typer

from kith.cli.app import app
from kith.cli.common import get_config, state


@app.command()
def run(ctx: typer.Context) -> None:
    """Sync every mailbox on its schedule, analyse, send the nightly report; stop on SIGTERM.

    Logs what it does at INFO (journald); -v adds debugging, --quiet keeps warnings only.
    """
    from kith.daemon import logs
    from kith.daemon.run import run as run_daemon

    config = get_config(ctx)  # a broken config at start exits 78 (EX_CONFIG): systemd should not loop on it
    root = ctx.find_root().params
    logs.configure(root.get("verbose", 0), root.get("quiet", False))
    code = run_daemon(config, config_path=state(ctx).config_path or config.path)
    raise typer.Exit(code)
