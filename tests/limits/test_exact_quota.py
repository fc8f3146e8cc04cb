"""One instance without Redis admits exactly a key's quota, however many first requests race
(issue 16: 103–115 of a 100/day quota got through at concurrency 4–16)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from switchyard.keys.limits import Quota
from tests.conftest import _drop_postgres_database, _postgres_database
from tests.stack import Stack, antigravity_stack

URL = "/antigravity/v1beta/models/gemini-2.5-flash:generateContent"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    overrides = {}
    if request.param == "postgres":
        url = _postgres_database()
        if url is None:
            pytest.skip("PostgreSQL is not reachable")
        overrides["database_url"] = url
    try:
        with antigravity_stack(tmp_path, quota_refresh_interval_s=0, **overrides) as running:
            yield running
    finally:
        if "database_url" in overrides:
            _drop_postgres_database(overrides["database_url"])


async def fire(base: str, key: str, total: int, concurrency: int) -> list[int]:
    """`total` requests, `concurrency` at a time; their statuses."""
    statuses: list[int] = []
    queue = iter(range(total))
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:

        async def worker() -> None:
            for _ in queue:
                reply = await client.post(
                    URL,
                    headers={"x-goog-api-key": key},
                    json={"contents": [{"role": "user", "parts": [{"text": uuid.uuid4().hex}]}]},
                )
                statuses.append(reply.status_code)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return statuses


@pytest.mark.parametrize(("quota", "total", "concurrency"), [(5, 32, 32), (100, 150, 16)])
def test_concurrent_requests_get_exactly_the_quota(
    stack: Stack, quota: int, total: int, concurrency: int
) -> None:
    key = stack.create_key(quota_requests=Quota(quota, "day"))
    statuses = asyncio.run(fire(stack.gateway, key, total, concurrency))
    assert sorted(set(statuses)) == [200, 429], statuses
    assert statuses.count(200) == quota
