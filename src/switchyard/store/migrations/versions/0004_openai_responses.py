"""Stored OpenAI Responses (`store: true`), for `previous_response_id` (bounded and expiring).

Revision ID: 0004_openai_responses
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_openai_responses"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "openai_responses",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("key_id", sa.Integer, nullable=True),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("record", sa.JSON, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_index("ix_openai_responses_expires_at", "openai_responses", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_openai_responses_expires_at", table_name="openai_responses")
    op.drop_table("openai_responses")
