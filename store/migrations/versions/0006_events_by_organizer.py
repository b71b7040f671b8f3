"""events indexed by organizer

An incremental analysis reads the meetings of the contacts it touched, those they organised
among them: without an index, every 500 addresses cost a scan of all events (measured at 1M
messages and 107k events: 92 ms for three such queries, of a ~2 s run).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_events_organizer_addr", "events", ["organizer_addr"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_events_organizer_addr", table_name="events")
