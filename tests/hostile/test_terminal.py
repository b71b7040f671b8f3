"""Finding 10: terminal escapes from headers reached the terminal through ``kith flags`` and ``kith
report`` (ESC sequences, OSC 52 clipboard writes). Through Maildir, ``kith sync`` and every command
that prints mail data, tables and ``--json`` alike; and from a store written by an older kith,
whose rows still hold the raw characters (the CLI cleans what it prints, whatever it reads)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text
from typer.testing import CliRunner

from kith.cli import app
from kith.config.load import load_config
from kith.store.engine import store_for
from tests.hostile.corpus import ME, message, place, rfc_date

#: What no output may hold: C0 controls but LF and TAB, DEL, C1 controls (0x9B is CSI).
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
OSC52 = "\x1b]52;c;aGVsbG8=\x07"
DIRTY_NAME = f"Eve{OSC52}\x1b[2J\x9b31m"
DIRTY_SUBJECT = f"invoice\x1b[8m hidden\x1b[0m {OSC52}\r overwritten \x00 [link=https://evil.example]x[/link]"

runner = CliRunner()


def configured(tmp_path: Path) -> Path:
    where = place("maildir", tmp_path, None)
    now = datetime.now(UTC)
    where.deliver(
        [
            message(
                1,
                sender="=?utf-8?q?Eve=1B=5D52=3Bc=3BaGVsbG8=3D=07=1B[2J=C2=9B31m?= <eve@example.org>",
                subject="=?utf-8?q?invoice=1B[8m_hidden=1B[0m_=1B=5D52=3Bc=3BaGVsbG8=3D=07=0D_over=00?=",
                date=rfc_date(now - timedelta(days=5)),
            )
        ]
    )
    (tmp_path / "mailboxes.d").mkdir()
    (tmp_path / "kith.toml").write_text(f'state_dir = "{tmp_path / "state"}"\n[me]\naddresses = ["{ME}"]\n')
    (tmp_path / "mailboxes.d" / "local.toml").write_text(f'kind = "maildir"\npath = "{where.root}"\n')
    return tmp_path / "kith.toml"


def outputs(config: Path) -> dict[str, str]:
    """What every command that shows mail data prints (stdout and stderr)."""
    shown = {}
    for args in (
        ["flags"],
        ["flags", "--json"],
        ["contacts"],
        ["contacts", "--json"],
        ["timeline", "eve@example.org"],
        ["timeline", "eve@example.org", "--json"],
        ["report"],
        ["report", "--json"],
        ["status"],
    ):
        res = runner.invoke(app, ["--config", str(config), *args])
        assert res.exit_code == 0, (args, res.output)
        shown[" ".join(args)] = res.output
    return shown


def assert_clean(shown: dict[str, str]) -> None:
    for args, out in shown.items():
        assert not CONTROL.search(out), (args, out)
        assert "\\u001b" not in out and "\\u009b" not in out, args  # not even escaped in JSON


def test_escapes_in_headers_never_reach_the_terminal(tmp_path: Path) -> None:
    config = configured(tmp_path)
    assert runner.invoke(app, ["--config", str(config), "sync"]).exit_code == 0
    shown = outputs(config)
    assert_clean(shown)
    assert "eve@example.org" in shown["flags"] and "invoice" in shown["flags"]
    flags = json.loads(shown["flags --json"])
    assert flags and flags[0]["contact"]["name"].startswith("Eve]52;c;aGVsbG8=")


def test_a_store_holding_raw_controls_prints_none(tmp_path: Path) -> None:
    """Rows as an older kith stored them: the CLI still prints no control character (and no
    hyperlink made of a ``[link=...]`` in the data)."""
    config = configured(tmp_path)
    assert runner.invoke(app, ["--config", str(config), "sync"]).exit_code == 0
    store = store_for(load_config(config))
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE messages SET subject = :s, from_name = :n"), {"s": DIRTY_SUBJECT, "n": DIRTY_NAME})
        conn.execute(text("UPDATE message_participants SET name = :n WHERE role = 'from'"), {"n": DIRTY_NAME})
        conn.execute(text("UPDATE streams SET last_error = :e"), {"e": DIRTY_SUBJECT})
    store.dispose()
    assert runner.invoke(app, ["--config", str(config), "analyze", "--rebuild"]).exit_code == 0
    shown = outputs(config)
    assert_clean(shown)
    assert "evil.example" in shown["flags"] or "invoice" in shown["flags"]
    assert all("\x1b]8;" not in out for out in shown.values())
