"""Finding 11 (the database): a corrupt database gave a 155-line traceback without its path, and
``kith run`` exited 1, so systemd restarted it in a loop; a full disk printed six tracebacks.
Through the ``kith`` command (its own process, as systemd runs it) and SQLite's own "database or
disk is full" (SQLITE_FULL, the error a full disk gives, made here by SQLite's page limit)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import kith.store.engine as engine_module
from kith.cli import app
from tests.hostile.corpus import cli_config, message

UNITS = Path(__file__).parents[2] / "daemon" / "units"


@pytest.mark.parametrize("command", [["status"], ["run"]])
def test_a_corrupt_database_is_one_line_naming_it_and_an_exit_the_units_do_not_restart_on(
    tmp_path: Path, command: list[str]
) -> None:
    config, _ = cli_config(tmp_path)
    db = tmp_path / "state" / "kith.db"
    db.parent.mkdir(mode=0o700)
    db.write_bytes(b"this is not an SQLite database, whatever its name says\n" * 200)
    res = subprocess.run(
        [sys.executable, "-m", "kith", "--config", str(config), *command], capture_output=True, text=True, timeout=120
    )
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert "Traceback" not in res.stderr, res.stderr
    assert len(errors) == 1 and str(db) in errors[0] and "not a database" in errors[0], res.stderr
    assert res.returncode == 74
    for unit in ("kith.service.j2", "kith-user.service.j2"):
        prevent = next(
            line for line in (UNITS / unit).read_text().splitlines() if line.startswith("RestartPreventExitStatus=")
        )
        assert "74" in prevent.split("=", 1)[1].split(), unit


def test_a_full_disk_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config, maildir = cli_config(tmp_path)
    runner = CliRunner()
    assert runner.invoke(app, ["--config", str(config), "sync"]).exit_code == 0
    pragmas = engine_module._sqlite_pragmas

    def full_soon(dbapi_conn: object, record: object) -> None:
        pragmas(dbapi_conn, record)
        cur = dbapi_conn.cursor()  # type: ignore[attr-defined]
        pages = cur.execute("PRAGMA page_count").fetchone()[0]
        cur.execute(f"PRAGMA max_page_count = {pages + 3}")  # the disk fills up a few pages from now
        cur.close()

    monkeypatch.setattr(engine_module, "_sqlite_pragmas", full_soon)
    for i in range(300):
        (maildir / "new" / f"17{i:08d}.M{i}P9.full").write_bytes(
            message(f"f{i}", subject=f"subject {i} " + "x" * 200, sender=f"p{i}@example.org")
        )
    res = runner.invoke(app, ["--config", str(config), "sync"])
    assert res.exit_code == 1
    assert "Traceback" not in res.output, res.output
    errors = [line for line in res.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "is full" in errors[0] and str(tmp_path / "state" / "kith.db") in errors[0], res.stderr
