"""Alembic, driven from code: no alembic.ini to ship or find; the scripts live in the package."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine | None = None) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Upgrade under a lock, so several workers starting at once do not race on the DDL."""
    with _migration_lock(engine), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7370303)")  # 'kith' migrations
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """SQLite has no advisory locks: an ``flock`` on the database's folder serialises the upgrade.

    The folder, not a file: a lock file beside the database stays behind for good (deleting it
    after use would race with a process already waiting on it), and the database file itself
    cannot carry the lock (closing any descriptor of it drops the POSIX locks SQLite holds in
    this process). ``flock`` and SQLite's ``fcntl`` locks do not interact on Linux.
    """
    db = engine.url.database if engine.dialect.name == "sqlite" else None
    if not db or db == ":memory:":
        yield
        return
    path = Path(db).expanduser()
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        # what kith up to 0.1.0 left beside the database; nobody locks it any more
        Path(f"{path}.migrate-lock").unlink(missing_ok=True)
        yield
    finally:
        os.close(fd)  # releases the lock


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


__all__ = ["alembic_config", "current_revision", "head_revision", "upgrade"]
