"""Shared fixtures: a gateway served on loopback over a fresh SQLite or PostgreSQL store."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from switchyard.app import create_app
from switchyard.config import Settings
from switchyard.keys import service
from switchyard.store.db import Store, open_store
from tests.servers import serve

POSTGRES_ADMIN_DSN = os.environ.get(
    "SWITCHYARD_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _postgres_database() -> str | None:
    """Create a throw-away database; None (or a failure under CI) when PostgreSQL is unreachable."""
    name = f"switchyard_test_{uuid.uuid4().hex[:10]}"

    async def create() -> None:
        connection = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    try:
        asyncio.run(create())
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at {POSTGRES_ADMIN_DSN} is unreachable under CI: {exc}")
        return None
    base = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0]
    return f"{base}/{name}"


def _drop_postgres_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]

    async def drop() -> None:
        connection = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=5)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()

    asyncio.run(drop())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings for a fresh store, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield make_settings(tmp_path)
        return
    url = _postgres_database()
    if url is None:
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_DSN}")
    try:
        yield make_settings(tmp_path, database_url=url)
    finally:
        _drop_postgres_database(url)


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "key_cache_ttl_s": 0.0,
        "usage_flush_interval_s": 0.05,
        "antigravity_client_secret": "test-client-secret",
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


def run_with_store(settings: Settings, work: Any) -> Any:
    """Run `work(store)` on a freshly opened store (the served gateway keeps its own)."""

    async def go() -> Any:
        store: Store = await open_store(settings)
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(go())


def create_key(settings: Settings, name: str | None = None, **limits: Any) -> str:
    """A new client key with `limits` (KeyLimits fields); returns the key itself."""
    key_name = name or f"key-{uuid.uuid4().hex[:6]}"
    _, key = run_with_store(
        settings, lambda store: service.create_key(store, key_name, service.KeyLimits(**limits))
    )
    return str(key)


class Gateway:
    """A served gateway plus direct access to its store for setting up keys."""

    def __init__(self, base_url: str, settings: Settings) -> None:
        self.url = base_url
        self.settings = settings

    def run(self, work: Any) -> Any:
        return run_with_store(self.settings, work)

    def create_key(self, name: str | None = None, **limits: Any) -> str:
        return create_key(self.settings, name, **limits)


@pytest.fixture
def gateway(settings: Settings) -> Iterator[Gateway]:
    with serve(create_app(settings)) as url:
        yield Gateway(url, settings)
