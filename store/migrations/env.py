"""Alembic environment: runs on the connection kith hands over (see kith.store.migrate)."""

from __future__ import annotations

from alembic import context

import kith.store.schema  # noqa: F401  (registers every table on Base.metadata)
from kith.store.models import Base

target_metadata = Base.metadata
config = context.config
connection = config.attributes.get("connection")

if connection is None:  # `alembic revision --autogenerate` from the command line
    from sqlalchemy import create_engine

    engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
