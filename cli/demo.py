"""`kith demo`: see kith work on a generated mailbox, no account needed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from kith.cli.app import app
from kith.cli.common import console
from kith.daemon.demo import run_demo


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
    table = Table("mailbox", "status", "messages+events", "problems")
    for r in result.results:
        table.add_row(r.name, r.status, str(r.upserts), str(r.problems))
    console.print(table)
    if result.summary:
        console.print(
            "analysis: " + ", ".join(f"{k} {v}" for k, v in result.summary.items() if isinstance(v, int | float))
        )
    console.print(f"config:   {result.config_path}")
    console.print(f"database: {result.database}")
    if result.report_html:
        console.print(f"report:   {result.report_html}")
        console.print(f"          {result.report_text}")
    kith = f".venv/bin/kith --config {result.config_path}"
    for i, command in enumerate(("flags", "contacts", "report", "status")):
        console.print(f"{'try:' if i == 0 else '':10}{kith} {command}", soft_wrap=True)
