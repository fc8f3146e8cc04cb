"""Thought signatures kept across restarts and instances (issue 13; bounded and expiring).

Revision ID: 0005_thought_signatures
Revises: 0004_openai_responses
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_thought_signatures"
down_revision = "0004_openai_responses"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "thought_signatures",
        sa.Column("key_hash", sa.String(64), primary_key=True),
        sa.Column("family", sa.String(20), nullable=False),
        sa.Column("signature", sa.Text, nullable=False),
        sa.Column("thinking", sa.Text, nullable=True),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_index("ix_thought_signatures_expires_at", "thought_signatures", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_thought_signatures_expires_at", table_name="thought_signatures")
    op.drop_table("thought_signatures")
