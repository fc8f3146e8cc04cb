"""The engine, sessions and migrations. Built by `open_store()` in the app's lifespan, never at import."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from switchyard.config import Settings
from switchyard.store.crypto import SecretBox, load_secret_box
from switchyard.store.reachable import StoreHealth, describe, store_unreachable

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
MIGRATION_LOCK_ID = 0x5357_4D49_4752  # "SWMIGR": any fixed bigint, the same in every instance
"""The PostgreSQL advisory lock that serialises migrations between instances starting together."""
CONNECT_TIMEOUT_S = 5.0
log = logging.getLogger("switchyard.store")


@dataclass
class Store:
    """The open store: engine, session factory and the box that seals account secrets."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    secrets: SecretBox
    health: StoreHealth = field(default_factory=StoreHealth)
    """Whether the store answered the last time anyone asked (`/readyz`, the store-up gauge)."""

    async def close(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers run beside the usage writer; foreign keys make cascades work."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # A bounded connect: with the database unreachable a request that needs it fails in seconds
    # (503), instead of waiting for the driver's default minute.
    return create_async_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        pool_timeout=10,
        connect_args={"timeout": CONNECT_TIMEOUT_S},
    )


async def wait_for_store(settings: Settings) -> bool:
    """Wait until the database answers, for up to `store_wait_s`, logging each failed attempt
    (where, why, when the next one is). False when it never answered. SQLite is always there."""
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() == "sqlite":
        return True
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    deadline = time.monotonic() + settings.store_wait_s
    delay = 1.0
    engine = create_engine(settings.effective_database_url)
    try:
        while True:
            try:
                async with engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
                return True
            except Exception as error:
                if not store_unreachable(error):
                    raise
                left = deadline - time.monotonic()
                if left <= 0:
                    log.error("the database at %s is unreachable: %s; giving up", where, describe(error))
                    return False
                delay = min(delay, left)
                log.warning(
                    "waiting for the database at %s: %s; retrying in %.0fs", where, describe(error), delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
    finally:
        await engine.dispose()


def _upgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def migrate(engine: AsyncEngine) -> None:
    """Apply every pending Alembic migration.

    On PostgreSQL the whole upgrade runs under a transaction-scoped advisory lock: instances that
    start together on an empty database would otherwise all try `CREATE TABLE alembic_version` and
    the first migration at once, and the losers die on a unique violation. The others wait at the
    lock, then (READ COMMITTED) see the winner's committed version and find nothing to do. The lock
    goes with the transaction, so a process killed mid-migration releases it (and rolls back, DDL
    being transactional on PostgreSQL). SQLite needs no lock: its writers are serialised already.
    """
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        await connection.run_sync(_upgrade)


async def open_store(settings: Settings, *, run_migrations: bool = True) -> Store:
    engine = create_engine(settings.effective_database_url)
    if run_migrations:
        await migrate(engine)
    secret = settings.secret_key.get_secret_value() if settings.secret_key else None
    return Store(
        engine=engine,
        sessions=async_sessionmaker(engine, expire_on_commit=False),
        secrets=load_secret_box(secret, settings.data_dir),
    )
