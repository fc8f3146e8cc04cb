"""Three gateways on one store and one Redis enforce a key's limits as one gateway would
(issue 16: `--rpm 60` served 180 a minute, `--max-concurrent 4` let 12 streams open, a 100/day
quota let 150 through)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from switchyard.keys.limits import Quota
from tests.limits.shared import cluster, round_robin


def test_rpm_is_global(tmp_path: Path) -> None:
    with cluster(tmp_path) as (stack, urls):
        key = stack.create_key(rpm=5)
        statuses = asyncio.run(round_robin(urls, key, 15, 3))
        assert statuses.count(200) == 5 and statuses.count(429) == 10, statuses


def test_request_quota_is_global_and_exact_under_concurrency(tmp_path: Path) -> None:
    with cluster(tmp_path) as (stack, urls):
        small = stack.create_key(quota_requests=Quota(5, "day"))
        statuses = asyncio.run(round_robin(urls, small, 33, 33))
        assert statuses.count(200) == 5 and statuses.count(429) == 28, statuses
        big = stack.create_key(quota_requests=Quota(30, "day"))
        statuses = asyncio.run(round_robin(urls, big, 45, 16))
        assert statuses.count(200) == 30 and statuses.count(429) == 15, statuses


def test_concurrency_is_global(tmp_path: Path) -> None:
    with cluster(tmp_path) as (stack, urls):
        key = stack.create_key(max_concurrent=2)
        stack.fault("delay_ms", delay_ms=1500, times=6)
        statuses = asyncio.run(round_robin(urls, key, 6, 6))
        assert statuses.count(200) == 2 and statuses.count(429) == 4, statuses
        again = asyncio.run(round_robin(urls, key, 3, 1))
        assert again == [200, 200, 200]  # every slot was given back


def test_refunds_and_seeds_are_shared(tmp_path: Path) -> None:
    """A refused model (404) does not use the quota on any instance; the counter is seeded once
    from the usage table, so requests made before the quota was set count."""
    with cluster(tmp_path) as (stack, urls):
        key = stack.create_key("seeded")
        assert asyncio.run(round_robin(urls, key, 3, 1)) == [200] * 3

        async def limit(store: object) -> None:
            from switchyard.keys import service

            await service.update_limits(store, "seeded", service.KeyLimits(quota_requests=Quota(5, "day")))  # type: ignore[arg-type]

        import time

        time.sleep(0.3)  # the usage writer flushes every 50 ms in tests
        stack.run(limit)
        statuses = asyncio.run(round_robin(urls, key, 6, 3))
        assert statuses.count(200) == 2 and statuses.count(429) == 4, statuses
