"""What the CLI tests share: a small demo store (sample mailboxes, synced and analysed, made
once), a config with one Maildir mailbox of 7 messages, and `kith` through Typer's CliRunner."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kith.cli import app
from kith.cli.demo_pipeline import DemoResult, run_demo
from tests.connectors.contract import messages
from tests.connectors.test_maildir import MaildirHarness


def kith(*args: str) -> object:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def configured(tmp_path: Path) -> Path:
    h = MaildirHarness(tmp_path / "Mail")
    h.deliver(messages(7))
    (tmp_path / "mailboxes.d").mkdir()
    (tmp_path / "kith.toml").write_text(f'state_dir = "{tmp_path / "state"}"\n[me]\naddresses = ["me@example.com"]\n')
    (tmp_path / "mailboxes.d" / "local.toml").write_text(f'kind = "maildir"\npath = "{h.root}"\n')
    return tmp_path / "kith.toml"


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return run_demo(tmp_path_factory.mktemp("cli") / "demo", messages=600, seed=3)
