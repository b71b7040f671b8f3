"""Shared fixtures. Real-server fixtures live in tests/fixtures/ and are all loaded here."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kith.store.engine import Store, open_store, sqlite_url

pytest_plugins = sorted(
    f"tests.fixtures.{p.stem}" for p in (Path(__file__).parent / "fixtures").glob("*.py") if p.stem != "__init__"
)


@pytest.fixture(autouse=True)
def _umask_as_it_was() -> Iterator[None]:
    """kith sets a private umask (0077) in the processes it runs: a test that runs one in this
    process must not leave it for the next test (Dovecot's fixture needs its folders traversable)."""
    mask = os.umask(0o022)
    os.umask(mask)
    yield
    os.umask(mask)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL for each dialect; the same tests run on both."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "kith.db")
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url)
    yield s
    s.dispose()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(sqlite_url(tmp_path / "kith.db"))
    yield s
    s.dispose()
