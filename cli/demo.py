"""`kith demo`: see kith work on a generated mailbox, no account needed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kith.cli.app import app
from kith.cli.common import console
from kith.cli.demo_pipeline import run_demo
from kith.cli.tables import Column, print_table


@app.command()
def demo(
    directory: Annotated[
        Path, typer.Option("--dir", help="Where to put the sample, config, database and report")
    ] = Path(".demo"),
    messages: Annotated[int, typer.Option(help="How many sample messages")] = 3000,
    seed: Annotated[int, typer.Option(help="Sample generator seed")] = 1,
) -> None:
    """Generate a sample mailbox, sync it, analyse it and render the report."""
    console.print(f"generating {messages} sample messages in {directory / 'sample'} …")
    result = run_demo(directory, messages=messages, seed=seed)
    rows = [[r.name, r.status, str(r.upserts), str(r.problems)] for r in result.results]
    columns = [
        Column("mailbox"),
        Column("status"),
        Column("messages+events", justify="right"),
        Column("problems", justify="right"),
    ]
    print_table(console, columns, rows)
    if result.summary:
        numbers = {k: v for k, v in result.summary.items() if isinstance(v, int | float) and not isinstance(v, bool)}
        console.print("analysis: " + ", ".join(f"{v} {k}" for k, v in numbers.items()))
    console.print(f"config:   {result.config_path}")
    console.print(f"database: {result.database}")
    if result.report_html:
        console.print(f"report:   {result.report_html}")
        console.print(f"          {result.report_text}")
    kith = f".venv/bin/kith --config {result.config_path}"
    day = result.now.date().isoformat()  # the demo config's report time zone is UTC
    for i, command in enumerate(("flags", "contacts", f"report --date {day}", "status")):
        console.print(f"{'try:' if i == 0 else '':10}{kith} {command}")
