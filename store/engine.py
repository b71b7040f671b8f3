"""Open the database: SQLite (WAL, busy timeout) by default, PostgreSQL (psycopg 3) by URL.

``open_store`` is the one place engines are made, so every process gets the same pragmas and the
schema is upgraded before anything reads it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from kith.config.load import Config
from kith.config.redact import mask_url
from kith.config.secrets import make_private
from kith.errors import StoreError, UnusableDatabase
from kith.store.faults import as_store_error, describe

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA foreign_keys=ON")
    # WAL + NORMAL is durable against process crashes (the case we test with SIGKILL); only a
    # power loss can lose the last transactions, never corrupt the database.
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.execute("PRAGMA cache_size=-65536")  # 64 MiB: index pages of a big mailbox stay hot while ingesting
    # checkpoint the WAL every ~40 MB rather than every 4 MB: fewer, larger copies during a big sync
    cur.execute("PRAGMA wal_autocheckpoint=10000")
    cur.close()


class Store:
    """An engine plus a session factory; ``session()`` is one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def url(self) -> URL:
        return self.engine.url

    @property
    def where(self) -> str:
        """The database as messages name it: its path (SQLite) or its URL, password masked."""
        if self.dialect == "sqlite" and self.url.database:
            return str(Path(self.url.database).expanduser())
        return mask_url(self.url.render_as_string(hide_password=False))

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose work commits on normal exit and rolls back on any exception."""
        with self._sessions() as session, session.begin():
            yield session

    def upgrade(self) -> None:
        """Bring the schema to the newest Alembic revision (idempotent, safe at every start)."""
        self.upgrade_to("head")

    def upgrade_to(self, revision: str) -> None:
        """Bring the schema to ``revision`` (tests of a migration start from the one before)."""
        from kith.store.migrate import upgrade

        upgrade(self.engine, revision)

    def create_all(self) -> None:
        """Create tables straight from the models (tests of derived tables only; use upgrade())."""
        from kith.store.models import Base

        Base.metadata.create_all(self.engine)

    def has_schema(self) -> bool:
        return inspect(self.engine).has_table("messages")

    def dispose(self) -> None:
        self.engine.dispose()


def open_store(url: str | URL, *, upgrade: bool = True, echo: bool = False, cache_mib: int | None = None) -> Store:
    """Create the engine for ``url`` and (by default) upgrade the schema.

    ``cache_mib``: SQLite's page cache per connection, for a process that only reads a few
    pages per request (the web app) rather than the 64 MiB a sync or an analysis wants."""
    u = make_url(url)
    # hide_parameters: an error's text (logged, kept in ``streams.last_error``) never carries the
    # values of a statement, which are other people's addresses and subjects
    kwargs: dict[str, Any] = {"echo": echo, "future": True, "hide_parameters": True}
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            _create_private(Path(u.database).expanduser())
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
    elif u.get_backend_name() == "postgresql":
        if u.drivername == "postgresql":
            u = u.set(drivername="postgresql+psycopg")
        kwargs.update(pool_pre_ping=True, pool_size=5, max_overflow=5, connect_args={"prepare_threshold": None})
    engine = create_engine(u, **kwargs)
    if u.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        if u.database and u.database != ":memory:":
            private_database(Path(u.database).expanduser())
        if cache_mib is not None:
            pragma = f"PRAGMA cache_size=-{int(cache_mib) * 1024}"
            event.listen(engine, "connect", lambda dbapi_conn, _record: dbapi_conn.execute(pragma))
    store = Store(engine)
    if upgrade:
        try:
            store.upgrade()
        except DBAPIError as exc:
            mapped = as_store_error(exc, store.where)
            if isinstance(mapped, UnusableDatabase):
                raise mapped from exc
            raise StoreError(
                f"cannot open the database {store.where}: {describe(exc)}",
                hint="check [database] url/path in kith.toml and that the server is running",
            ) from exc
    return store


#: The files SQLite keeps beside a database (the write-ahead log, its shared memory).
SIDE_FILES = ("-wal", "-shm")


def _create_private(path: Path) -> None:
    """A new database is private from its first byte whatever the umask (a library caller may
    not have kith's): its folder 0700, the file 0600 (SQLite gives the WAL and SHM its mode)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))  # an empty file is an empty database


def private_database(path: Path) -> None:
    """A database that exists already with wider modes (made before kith set its umask, or by
    hand) is tightened to 0600, and its WAL and SHM with it; said in a warning.
    SQLite creates the WAL and SHM with the database's own mode, so they stay private after."""
    for file in (path, *(path.with_name(path.name + side) for side in SIDE_FILES)):
        if make_private(file):
            log.warning("%s was readable by others; made it private (mode 0600)", file)


def store_for(config: Config, *, upgrade: bool = True, cache_mib: int | None = None) -> Store:
    """The store a loaded ``kith.config.Config`` points at (its state directory made private)."""
    if make_private(config.state_dir, directory=True):
        log.warning("state directory %s was open to others; made it private (mode 0700)", config.state_dir)
    db = config.settings.database
    url = db.url or sqlite_url(db.path or (config.state_dir / "kith.db"))
    return open_store(url, upgrade=upgrade, echo=db.echo, cache_mib=cache_mib)


__all__ = ["Store", "open_store", "sqlite_url", "store_for"]
