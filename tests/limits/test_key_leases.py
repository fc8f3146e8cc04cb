"""A key's concurrency slots on Redis are leases: a crashed instance's slots free themselves
within the lease (issue 16: the restarted gateway answered only 429 for up to 15 minutes)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from switchyard.errors import RateLimited
from switchyard.keys.guard import KeyGuard
from switchyard.redis_link import RedisLink
from switchyard.store.db import open_store
from tests.conftest import create_key, make_settings
from tests.limits.shared import drop_prefix, redis_or_skip
from tests.pool.test_state import REDIS_URL


def test_a_crashed_instance_does_not_lock_out_its_successor(tmp_path: Path) -> None:
    redis_or_skip()
    settings = make_settings(tmp_path)
    presented = create_key(settings, "one-at-a-time", max_concurrent=1)
    prefix = f"switchyard-test-{uuid.uuid4().hex[:8]}"

    async def go() -> None:
        store = await open_store(settings)
        crashed = RedisLink(REDIS_URL, prefix=prefix, lease_s=0.6)
        successor = RedisLink(REDIS_URL, prefix=prefix, lease_s=0.6)
        crashed.start()
        successor.start()
        try:
            first, second = KeyGuard(store, link=crashed), KeyGuard(store, link=successor)
            key = await first.authenticate(presented)
            await first.admit(key, "antigravity", "gemini-2.5-flash")  # held, never released
            for task in crashed._tasks:  # kill -9: nothing renews or releases it any more
                task.cancel()
            with pytest.raises(RateLimited, match="concurrency limit of 1"):
                await second.admit(key, "antigravity", "gemini-2.5-flash")
            await asyncio.sleep(1.0)
            lease = await second.admit(key, "antigravity", "gemini-2.5-flash")  # it expired
            await asyncio.sleep(1.0)  # the successor's own lease is renewed while it is held
            with pytest.raises(RateLimited):  # (the crashed link sends nothing any more)
                await second.admit(key, "antigravity", "gemini-2.5-flash")
            lease.release(200)
        finally:
            await successor.aclose()
            await crashed.aclose()  # its tasks are gone already; this closes its connections
            await store.close()
            drop_prefix(prefix)

    asyncio.run(go())
