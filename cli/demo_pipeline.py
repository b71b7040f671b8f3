"""`kith demo`: a sample mailbox, a config for it, a full sync, analysis and report, end to end.

Everything lands under one folder (default ``.demo`` in the checkout), on the embedded SQLite
default, so a newcomer sees kith work without any account or server.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kith.analysis.api import analyze
from kith.config.load import Config, load_config
from kith.config.secrets import write_private
from kith.daemon.sync import MailboxResult, Progress, sync_mailboxes
from kith.report.api import write_report
from kith.store.engine import Store, store_for

log = logging.getLogger(__name__)


@dataclass
class DemoResult:
    config_path: Path
    database: Path
    results: list[MailboxResult]
    #: The moment the sample ends and the analysis and report were made at ("now" for the demo).
    now: datetime
    truth_path: Path | None = None
    report_html: Path | None = None
    report_text: Path | None = None
    summary: dict[str, Any] = field(default_factory=dict)


def write_demo_config(directory: Path, info: Any) -> Path:
    """kith.toml + one mailbox file per sample mailbox, pointing at the generated folders."""
    me = ", ".join(json.dumps(a) for a in info.me)
    write_private(
        directory / "kith.toml",
        f"""# written by `kith demo`
state_dir = "{directory / "state"}"

[me]
name = "Demo Owner"
addresses = [{me}]

[database]
path = "{directory / "kith.db"}"

{_aliases_toml(info)}
[report]
to = {json.dumps(info.me[0])}
from = "kith@localhost"
deliver = "none"
output_dir = "{directory / "report"}"
""",
    )
    for mb in info.mailboxes:
        addresses = ", ".join(json.dumps(a) for a in mb.addresses)
        text = f'kind = "maildir"\npath = "{mb.path}"\naddresses = [{addresses}]\nbatch_size = 1000\n'
        if mb.calendar is not None:
            text += f'\n[calendar]\nkind = "ics"\npath = "{mb.calendar}"\n'
        write_private(directory / "mailboxes.d" / f"{mb.name}.toml", text)
    return directory / "kith.toml"


def _aliases_toml(info: Any) -> str:
    """The sample's "one person, two addresses" cases as ``[analysis.aliases]``."""
    truth = json.loads(Path(info.truth_path).read_text()) if getattr(info, "truth_path", None) else {}
    aliases = truth.get("aliases") or {}
    if not aliases:
        return ""
    lines = [f"{json.dumps(k)} = [{', '.join(json.dumps(a) for a in v)}]" for k, v in sorted(aliases.items())]
    return "[analysis.aliases]\n" + "\n".join(lines) + "\n"


def run_demo(
    directory: Path,
    *,
    messages: int = 3000,
    seed: int = 1,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> DemoResult:
    """The sample ends ``now`` (default: this minute), so the commands the demo suggests
    afterwards (`kith flags`, `kith report` for today) see what its own report saw."""
    from kith.sample import generate

    directory = directory.resolve()
    sample_dir = directory / "sample"
    now = now or datetime.now(UTC).replace(second=0, microsecond=0)
    info = generate(sample_dir, seed=seed, messages=messages, now=now)
    for stale in (directory / "kith.db", directory / "kith.db-wal", directory / "kith.db-shm"):
        stale.unlink(missing_ok=True)  # a demo always starts from an empty database
    config_path = write_demo_config(directory, info)
    config = load_config(config_path)
    store = store_for(config)
    try:
        results = sync_mailboxes(config, store, progress=progress)
        out = DemoResult(
            config_path, directory / "kith.db", results, info.now, truth_path=getattr(info, "truth_path", None)
        )
        _analyze_and_report(config, store, info, out)
    finally:
        store.dispose()
    return out


def _analyze_and_report(config: Config, store: Store, info: Any, out: DemoResult) -> None:
    """The analysis and the report of the synced sample, made at the sample's end."""
    now = info.now
    with store.session() as session:
        out.summary = analyze(session, config, now=now)
    out.report_html, out.report_text = write_report(store, config, now=now, directory=out.config_path.parent / "report")


__all__ = ["DemoResult", "run_demo", "write_demo_config"]
