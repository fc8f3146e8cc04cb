"""Gemini web conversations the gateway can continue (bounded and expiring).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_conversations",
        sa.Column("key_hash", sa.String(64), primary_key=True),
        sa.Column("account", sa.String(200), nullable=False),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("chat_metadata", sa.JSON, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_index("ix_web_conversations_expires_at", "web_conversations", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_web_conversations_expires_at", table_name="web_conversations")
    op.drop_table("web_conversations")
