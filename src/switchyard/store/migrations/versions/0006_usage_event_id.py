"""Usage events carry the gateway's own event id, unique, so a re-delivered event (replayed
from the spool file or claimed again from the Redis stream after a crash) is written once.

`request_id` cannot be that key: a client may send its own `x-request-id` more than once.
Rows written before this migration have no event id (NULL is never a duplicate).

Revision ID: 0006_usage_event_id
Revises: 0005_thought_signatures
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_usage_event_id"
down_revision = "0005_thought_signatures"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("usage_events") as batch:
        batch.add_column(sa.Column("event_id", sa.String(32), nullable=True))
    op.create_index("ux_usage_event_id", "usage_events", ["event_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_usage_event_id", table_name="usage_events")
    with op.batch_alter_table("usage_events") as batch:
        batch.drop_column("event_id")
