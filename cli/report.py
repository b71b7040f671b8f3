"""`kith report`: show today's (or any day's) report, write its HTML, print its data, or send it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from kith.cli.app import app
from kith.cli.common import console, err_console, get_config, get_store, print_json
from kith.cli.params import parse_day


@app.command()
def report(
    ctx: typer.Context,
    day: Annotated[
        date | None, typer.Option("--date", parser=parse_day, help="Report date YYYY-MM-DD (default: today)")
    ] = None,
    send: Annotated[
        bool, typer.Option("--send", help="Send it now, even if that day's report went out already")
    ] = False,
    html: Annotated[Path | None, typer.Option("--html", help="Write the HTML version to this file")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report data as JSON")] = False,
) -> None:
    """The nightly report: what needs attention, the numbers, sync health. With `[report]
    output_dir` set, a copy of the report shown (and of each one sent) is kept there as files."""
    from kith.report.api import build_report, keep_copy, local_day, moment_for, render_report, send_report, write_html

    config = get_config(ctx)
    store = get_store(ctx)
    now = datetime.now(UTC)
    the_day = day or local_day(config, now)
    at = moment_for(config, the_day, now)
    if send:
        message_id = send_report(store, config, day=the_day, now=at, force=True)
        console.print(f"sent the report for {the_day} to {config.settings.report.to or 'you'} ({message_id})")
        return
    with store.session() as session:
        data = build_report(session, config, day=the_day, now=at)
    if json_out:
        print_json(data)
        return
    rendered = render_report(data, timezone=config.settings.report.timezone)
    if html is not None:
        write_html(rendered, html)
        console.print(f"wrote {html}")
        return
    console.print(f"[bold]{escape(rendered.subject)}[/bold]")
    console.print(rendered.text, markup=False, highlight=False)
    kept = keep_copy(config, rendered, day=the_day)
    if kept is not None:  # on stderr: `kith report | less` shows the report alone
        err_console.print(f"kept a copy: {escape(str(kept[0]))} and {escape(kept[1].name)}")
