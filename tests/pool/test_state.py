"""The `PoolState` contract, run against the in-process state and against the local Redis.

Redis tests skip with a visible reason when no server answers at `SWITCHYARD_TEST_REDIS_URL`
(default redis://127.0.0.1:6379/0), except under `CI=true`, where they must run.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable

import pytest

from switchyard.pool.redis_state import RedisPoolState
from switchyard.pool.state import Cooldown, MemoryPoolState, PoolState

REDIS_URL = os.environ.get("SWITCHYARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def redis_or_skip(prefix: str) -> RedisPoolState:
    state = RedisPoolState(REDIS_URL, prefix=prefix)
    try:
        await asyncio.wait_for(state.ping(), 2)
    except Exception as exc:  # unreachable, refused, timed out
        await state.aclose()
        if os.environ.get("CI") == "true":
            raise AssertionError(f"Redis at {REDIS_URL} is required under CI: {exc!r}") from exc
        pytest.skip(f"no Redis at {REDIS_URL} ({type(exc).__name__}); RedisPoolState untested")
    return state


StateTest = Callable[[PoolState], Awaitable[None]]


@pytest.fixture(params=["memory", "redis"])
def on_state(request: pytest.FixtureRequest) -> Callable[[StateTest], None]:
    """Runs an async test body against a fresh state of the parametrised kind."""

    def run(body: StateTest) -> None:
        async def go() -> None:
            if request.param == "memory":
                await body(MemoryPoolState())
                return
            prefix = f"switchyard-test-{uuid.uuid4().hex[:8]}"
            redis_state = await redis_or_skip(prefix)
            try:
                await body(redis_state)
            finally:
                await _drop(redis_state, prefix)

        asyncio.run(go())

    return run


async def _drop(state: RedisPoolState, prefix: str) -> None:
    keys = [key async for key in state._redis.scan_iter(f"{prefix}:*")]
    if keys:
        await state._redis.delete(*keys)
    await state.aclose()


def test_cooldowns_are_per_account_and_family_and_expire(on_state: Callable[[StateTest], None]) -> None:
    async def body(state: PoolState) -> None:
        now = time.time()
        await state.set_cooldown(1, "claude", Cooldown(now + 60, "quota exhausted"))
        await state.set_cooldown(2, "claude", Cooldown(now + 0.2, "rate limited"))
        found = await state.cooldowns("claude", [1, 2, 3])
        assert set(found) == {1, 2} and found[1].reason == "quota exhausted"
        assert found[1].until == pytest.approx(now + 60)
        assert await state.cooldowns("gemini-pro", [1, 2, 3]) == {}
        await asyncio.sleep(0.3)
        assert set(await state.cooldowns("claude", [1, 2, 3])) == {1}

    on_state(body)


def test_a_later_cooldown_wins_over_an_earlier_one(on_state: Callable[[StateTest], None]) -> None:
    async def body(state: PoolState) -> None:
        now = time.time()
        await state.set_cooldown(1, "claude", Cooldown(now + 600, "quota exhausted"))
        await state.set_cooldown(1, "claude", Cooldown(now + 1, "rate limited"))
        assert (await state.cooldowns("claude", [1]))[1].reason == "quota exhausted"
        await state.set_cooldown(1, "claude", Cooldown(now + 900, "quota exhausted again"))
        assert (await state.cooldowns("claude", [1]))[1].reason == "quota exhausted again"

    on_state(body)


def test_slots_respect_the_cap(on_state: Callable[[StateTest], None]) -> None:
    async def body(state: PoolState) -> None:
        assert await state.acquire(1, 2) and await state.acquire(1, 2)
        assert not await state.acquire(1, 2)
        assert await state.in_flight([1, 2]) == {1: 2, 2: 0}
        await state.release(1)
        assert await state.acquire(1, 2)
        assert await state.acquire(2, 0) and await state.acquire(2, 0)  # 0 = no cap

    on_state(body)


def test_concurrent_acquires_never_exceed_the_cap(on_state: Callable[[StateTest], None]) -> None:
    async def body(state: PoolState) -> None:
        results = await asyncio.gather(*(state.acquire(5, 3) for _ in range(20)))
        assert sum(results) == 3
        assert (await state.in_flight([5]))[5] == 3

    on_state(body)


def test_rate_window_counts_recent_uses(on_state: Callable[[StateTest], None]) -> None:
    async def body(state: PoolState) -> None:
        for _ in range(3):
            await state.note_use(1, "claude")
        await state.note_use(2, "claude")
        await state.note_use(1, "gemini-pro")
        assert await state.recent_uses("claude", [1, 2, 3]) == {1: 3, 2: 1, 3: 0}

    on_state(body)


def test_sticky_sessions_expire(on_state: Callable[[StateTest], None]) -> None:
    async def body(state: PoolState) -> None:
        await state.set_sticky("conv", 4, 0.2)
        assert await state.sticky("conv") == 4
        assert await state.sticky("other") is None
        await asyncio.sleep(0.3)
        assert await state.sticky("conv") is None

    on_state(body)


def test_two_redis_clients_share_state() -> None:
    asyncio.run(_two_clients())


async def _two_clients() -> None:
    prefix = f"switchyard-test-{uuid.uuid4().hex[:8]}"
    first = await redis_or_skip(prefix)
    second = RedisPoolState(REDIS_URL, prefix=prefix)
    try:
        await first.set_cooldown(1, "claude", Cooldown(time.time() + 30, "rate limited"))
        assert await first.acquire(1, 1)
        assert not await second.acquire(1, 1)  # another instance sees the slot taken
        assert (await second.cooldowns("claude", [1]))[1].reason == "rate limited"
    finally:
        await _drop(first, prefix)
        await second.aclose()
