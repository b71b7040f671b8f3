"""reply-to-act: used action tokens, the log of commands, and Graph's webLink of a message

``action_tokens`` refuses a second use of a token; ``action_log`` is what ``kith status`` shows
of the commands kith refused; ``messages.web_link`` is the Outlook on the web address Graph
gives for a message (``webLink``), the best "open in mail" link of a Microsoft 365 mailbox.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kith.store.models import UtcDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "action_tokens",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("flag_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("carrier", sa.String(length=1000), nullable=False),
        sa.Column("used_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_action_tokens")),
    )
    op.create_table(
        "action_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("via", sa.String(length=200), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("flag_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=20), nullable=True),
        sa.Column("sender", sa.String(length=200), nullable=True),
        sa.Column("carrier", sa.String(length=1000), nullable=True),
        sa.Column("digest", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_log")),
    )
    op.create_index(op.f("ix_action_log_at"), "action_log", ["at"], unique=False)
    op.create_index(op.f("ix_action_log_digest"), "action_log", ["digest"], unique=False)
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("web_link", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("web_link")
    op.drop_index(op.f("ix_action_log_digest"), table_name="action_log")
    op.drop_index(op.f("ix_action_log_at"), table_name="action_log")
    op.drop_table("action_log")
    op.drop_table("action_tokens")
