"""A small demo store (sample mailboxes, synced and analysed) the CLI tests read; made once."""

from __future__ import annotations

import pytest

from kith.daemon.demo import DemoResult, run_demo


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return run_demo(tmp_path_factory.mktemp("cli") / "demo", messages=600, seed=3)
