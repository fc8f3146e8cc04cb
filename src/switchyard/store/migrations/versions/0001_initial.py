"""Initial schema: client keys, accounts, per-(account, model) state, usage events.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "client_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("fingerprint", sa.String(16), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float),
        sa.Column("last_used_at", sa.Float),
        sa.Column("models", sa.JSON),
        sa.Column("rpm", sa.Integer),
        sa.Column("max_concurrent", sa.Integer),
        sa.Column("quota_requests", sa.BigInteger),
        sa.Column("quota_requests_period", sa.String(8)),
        sa.Column("quota_tokens", sa.BigInteger),
        sa.Column("quota_tokens_period", sa.String(8)),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("provider", sa.String(32), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("secret_fingerprint", sa.String(16), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_reason", sa.Text),
        sa.Column("status_url", sa.Text),
        sa.Column("project_id", sa.String(200)),
        sa.Column("email", sa.String(320)),
        sa.Column("proxy_url", sa.Text),
        sa.Column("meta", sa.JSON, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("last_used_at", sa.Float),
        sa.Column("last_error", sa.Text),
    )
    op.create_table(
        "account_model_state",
        sa.Column(
            "account_id", sa.Integer, sa.ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("model", sa.String(100), primary_key=True),
        sa.Column("cooldown_until", sa.Float),
        sa.Column("cooldown_reason", sa.Text),
        sa.Column("quota_remaining", sa.Float),
        sa.Column("quota_reset_at", sa.Float),
        sa.Column("last_error", sa.Text),
        sa.Column("requests", sa.BigInteger, nullable=False),
        sa.Column("tokens", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "usage_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("key_id", sa.Integer),
        sa.Column("key_name", sa.String(200)),
        sa.Column("surface", sa.String(32), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("model", sa.String(100)),
        sa.Column("account", sa.String(200)),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("error_class", sa.String(32)),
        sa.Column("stream", sa.Boolean, nullable=False),
        sa.Column("prompt_tokens", sa.Integer, nullable=False),
        sa.Column("completion_tokens", sa.Integer, nullable=False),
        sa.Column("reasoning_tokens", sa.Integer, nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("ttfb_ms", sa.Float),
    )
    op.create_index("ix_usage_key_time", "usage_events", ["key_id", "created_at"])
    op.create_index("ix_usage_time", "usage_events", ["created_at"])


def downgrade() -> None:
    op.drop_table("usage_events")
    op.drop_table("account_model_state")
    op.drop_table("accounts")
    op.drop_table("client_keys")
