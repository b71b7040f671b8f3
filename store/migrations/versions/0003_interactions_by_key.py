"""interactions indexed by (contact, message) instead of (contact, time)

An incremental analysis run looks up a contact's rows for the messages it changed; the timeline
of one contact, the only reader of the old (contact, time) order, sorts its few rows itself.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.drop_index("ix_interactions_contact_at")
        batch_op.create_index("ix_interactions_contact_key", ["contact_id", "message_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.drop_index("ix_interactions_contact_key")
        batch_op.create_index("ix_interactions_contact_at", ["contact_id", "at"], unique=False)
