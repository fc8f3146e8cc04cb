"""Migrations started at once on one empty PostgreSQL database are serialised by the advisory lock
in `store/db.py::migrate`: all succeed, the schema is at head.

Here the callers share one process, which is quick but not the whole story: without the lock they
also trip over Alembic's process-global migration context (KeyError), not only over PostgreSQL.
The faithful version, separate `switchyard serve` processes, is tests/multi/test_startup.py."""

from __future__ import annotations

import asyncio

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text

from switchyard.config import normalise_database_url
from switchyard.store.db import MIGRATIONS_DIR, create_engine, migrate
from tests.conftest import _drop_postgres_database, _postgres_database

pytestmark = pytest.mark.postgres


def test_concurrent_migrations_on_an_empty_database_all_succeed() -> None:
    url = _postgres_database()
    if url is None:
        pytest.skip("PostgreSQL is not reachable")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()

    async def scenario() -> list[str]:
        engines = [create_engine(normalise_database_url(url)) for _ in range(4)]
        try:
            await asyncio.wait_for(asyncio.gather(*(migrate(engine) for engine in engines)), 60)
            async with engines[0].connect() as connection:
                rows = await connection.execute(text("SELECT version_num FROM alembic_version"))
                return [row[0] for row in rows]
        finally:
            for engine in engines:
                await engine.dispose()

    try:
        for _ in range(3):  # the second and third rounds find the schema at head and do nothing
            assert asyncio.run(scenario()) == [head]
    finally:
        _drop_postgres_database(url)
