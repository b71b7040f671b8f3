"""interactions carry the contact's display name on each message

An incremental analysis run reads a touched contact's history through its interactions (one
range of the (contact, message) index) instead of through the participant rows of every message
(four random reads a row); the name each message gave the contact is the one thing those rows
held that the interactions did not.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("interactions", sa.Column("name", sa.String(length=500), nullable=True))
    # the stored history has no names yet: the next analysis must rebuild to fill them in
    op.execute("DELETE FROM kith_meta WHERE key = 'analysis_fingerprint'")


def downgrade() -> None:
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.drop_column("name")
