"""Make ``tests/data/release-<version>.db.gz``: a store as a release leaves it, kept for upgrade tests.

Run it once when a release is cut (``.venv/bin/python -m tests.store.release_db``), before any
later migration exists, and commit the file: tests/store/test_release_upgrade.py then upgrades
that database with every migration added since, on SQLite and PostgreSQL, as `kith run` does on
start. The store is the demo's (a generated mailbox and calendar, synced and analysed), plus a
report sent to an SMTP sink and a live lease, so that every table holds real rows.
"""

from __future__ import annotations

import gzip
import shutil
import sqlite3
import tempfile
from datetime import timedelta
from pathlib import Path

from aiosmtpd.controller import Controller

from kith import __version__
from kith.cli.demo_pipeline import run_demo
from kith.config.load import load_config
from kith.report.api import send_report
from kith.store import leases
from kith.store.engine import open_store
from kith.store.migrate import current_revision
from kith.store.models import utcnow
from tests.fixtures import free_port

DATA = Path(__file__).resolve().parents[1] / "data"


class _Sink:
    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        return "250 OK"


def make(out: Path) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        demo = run_demo(Path(tmp) / "demo", messages=150, seed=3)
        port = free_port()
        with demo.config_path.open("a") as fh:
            fh.write(f'\n[report.smtp]\nhost = "127.0.0.1"\nport = {port}\ntls = "none"\n')
        text = demo.config_path.read_text().replace('deliver = "none"', 'deliver = "smtp"')
        demo.config_path.write_text(text)
        config = load_config(demo.config_path)
        store = open_store(f"sqlite:///{demo.database}")
        sink = Controller(_Sink(), hostname="127.0.0.1", port=port)
        sink.start()
        try:
            now = utcnow()
            send_report(store, config, day=now.date(), now=now)
            leases.acquire(store.engine, leases.mailbox_lease("work"), "release-db:1", timedelta(days=1))
            revision = current_revision(store.engine)
        finally:
            sink.stop()
            store.dispose()
        with sqlite3.connect(demo.database) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("PRAGMA journal_mode=DELETE")
        sqlite3.connect(demo.database).execute("VACUUM").connection.close()
        target = out / f"release-{__version__}-{revision}.db.gz"
        with demo.database.open("rb") as src, gzip.open(target, "wb", compresslevel=9) as dst:
            shutil.copyfileobj(src, dst)
    return target


if __name__ == "__main__":
    print(make(DATA))
