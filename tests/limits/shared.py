"""Helpers for the multi-instance tests: several gateways on one store and one Redis prefix."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from switchyard.app import create_app
from tests.conftest import _drop_postgres_database, _postgres_database
from tests.pool.test_state import REDIS_URL
from tests.servers import serve
from tests.stack import Stack, antigravity_stack

URL = "/antigravity/v1beta/models/gemini-2.5-flash:generateContent"


def redis_or_skip(url: str = REDIS_URL) -> None:
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {url}: {exc}")


def drop_prefix(prefix: str, url: str = REDIS_URL) -> None:
    client = redis.Redis.from_url(url)
    with contextlib.suppress(redis.RedisError):
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)
    client.close()


@contextlib.contextmanager
def cluster(tmp_path: Path, instances: int = 3, **overrides: Any) -> Iterator[tuple[Stack, list[str]]]:
    """`instances` gateways sharing one PostgreSQL database (SQLite if PostgreSQL is away) and
    one Redis prefix, on the same emulators; the stack and the gateways' URLs."""
    overrides.setdefault("redis_url", REDIS_URL)
    # Three gateways in one test process lag each other's event loops on a loaded machine; a lag
    # taken for a Redis outage would put limits on per-instance counters and fail the test.
    overrides.setdefault("redis_timeout_s", 5.0)
    if overrides["redis_url"] == REDIS_URL:
        redis_or_skip()
    prefix = f"switchyard-test-{uuid.uuid4().hex[:8]}"
    database = _postgres_database()
    if database is not None:
        overrides["database_url"] = database
    try:
        with (
            antigravity_stack(
                tmp_path, quota_refresh_interval_s=0, redis_prefix=prefix, **overrides
            ) as stack,
            contextlib.ExitStack() as more,
        ):
            urls = [stack.gateway]
            for _ in range(instances - 1):
                urls.append(more.enter_context(serve(create_app(stack.settings))))
            yield stack, urls
    finally:
        drop_prefix(prefix, overrides["redis_url"])
        if database is not None:
            _drop_postgres_database(database)


async def round_robin(urls: list[str], key: str, total: int, concurrency: int) -> list[int]:
    """`total` requests spread over the gateways in turn, `concurrency` at a time; statuses."""
    statuses: list[int] = []
    turns = iter(range(total))
    async with httpx.AsyncClient(timeout=30) as client:

        async def worker() -> None:
            for turn in turns:
                reply = await client.post(
                    urls[turn % len(urls)] + URL,
                    headers={"x-goog-api-key": key},
                    json={"contents": [{"role": "user", "parts": [{"text": uuid.uuid4().hex}]}]},
                )
                statuses.append(reply.status_code)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return statuses
