"""Persistence: client keys (hashed), upstream accounts (secrets encrypted), account state, usage.

SQLAlchemy 2 async; SQLite (aiosqlite) by default, PostgreSQL (asyncpg) when configured. The schema
is owned by the Alembic migrations in `migrations/`, applied on start and by `switchyard migrate`.
"""
