"""Alembic environment. The gateway passes an open connection in `config.attributes["connection"]`."""

from __future__ import annotations

from alembic import context

from switchyard.store.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `switchyard migrate`, which passes a connection")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
