"""contact merges and the people search key

The web app merges two people into one (``contact_merges``, the user's decision, kept by a
rebuild) and searches people by name, address or domain whatever the accents and case
(``contacts.search``). The stored analysis fingerprint is dropped so the next analysis is a
rebuild, which fills the new column for every contact.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kith.store.models import UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contact_merges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("target", sa.String(length=500), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("undone_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_merges")),
    )
    op.create_index(op.f("ix_contact_merges_address"), "contact_merges", ["address"], unique=False)
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("search", sa.Text(), nullable=False, server_default=""))
    op.execute("DELETE FROM kith_meta WHERE key = 'analysis_fingerprint'")


def downgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("search")
    op.drop_index(op.f("ix_contact_merges_address"), table_name="contact_merges")
    op.drop_table("contact_merges")
