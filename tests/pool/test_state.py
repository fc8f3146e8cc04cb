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

from switchyard.pool.redis_state import SharedPoolState
from switchyard.pool.state import Cooldown, MemoryPoolState, PoolState
from switchyard.redis_link import RedisLink

REDIS_URL = os.environ.get("SWITCHYARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def redis_or_skip(prefix: str, **options: float) -> SharedPoolState:
    """A shared state on the local Redis under `prefix` (its link started), or skip."""
    link = RedisLink(REDIS_URL, prefix=prefix, **options)
    state = SharedPoolState(link)
    try:
        await asyncio.wait_for(link.redis.ping(), 2)
    except Exception as exc:  # unreachable, refused, timed out
        await link.aclose()
        if os.environ.get("CI") == "true":
            raise AssertionError(f"Redis at {REDIS_URL} is required under CI: {exc!r}") from exc
        pytest.skip(f"no Redis at {REDIS_URL} ({type(exc).__name__}); SharedPoolState untested")
    link.start()
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


async def _drop(state: SharedPoolState, prefix: str) -> None:
    await state.aclose()
    await state.link.aclose()
    redis = RedisLink(REDIS_URL, prefix=prefix).redis
    keys = [key async for key in redis.scan_iter(f"{prefix}:*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


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
        first, second = await state.take([1], 2, "claude"), await state.take([1], 2, "claude")
        assert first is not None and second is not None and first.lease_id != second.lease_id
        assert await state.take([1], 2, "claude") is None
        assert await state.in_flight([1, 2]) == {1: 2, 2: 0}
        await state.release(first, urgent=True)
        await asyncio.sleep(0.05)  # a shared state sends releases in the background
        assert await state.take([1], 2, "claude") is not None
        assert await state.take([2], 0, "claude") and await state.take([2], 0, "claude")  # 0 = no cap
        full = await state.take([1, 2], 2, "claude")  # both full
        assert full is None
        assert (await state.take([1, 2], 3, "claude") or full).account_id == 1  # type: ignore[union-attr]

    on_state(body)


def test_concurrent_takes_never_exceed_the_cap(on_state: Callable[[StateTest], None]) -> None:
    async def body(state: PoolState) -> None:
        results = await asyncio.gather(*(state.take([5], 3, "claude") for _ in range(20)))
        assert sum(slot is not None for slot in results) == 3
        assert (await state.in_flight([5]))[5] == 3

    on_state(body)


def test_take_prefers_the_session_account_and_counts_the_use(
    on_state: Callable[[StateTest], None],
) -> None:
    async def body(state: PoolState) -> None:
        slot = await state.take([2, 1], 0, "claude", session="conv", sticky_ttl_s=60)
        assert slot is not None and slot.account_id == 2
        again = await state.take([1, 2], 0, "claude", session="conv", sticky_ttl_s=60)
        assert again is not None and again.account_id == 2  # the conversation's account first
        assert await state.sticky("conv") == 2
        assert (await state.recent_uses("claude", [1, 2]))[2] == 2

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
    second = await redis_or_skip(prefix)
    try:
        await first.set_cooldown(1, "claude", Cooldown(time.time() + 30, "rate limited"))
        assert await first.take([1], 1, "claude")
        assert await second.take([1], 1, "claude") is None  # another instance sees the slot taken
        assert (await second.cooldowns("claude", [1]))[1].reason == "rate limited"
    finally:
        await _drop(first, prefix)
        await second.aclose()
        await second.link.aclose()


def test_a_dead_holders_slots_free_themselves_within_the_lease() -> None:
    """Issue 16: `kill -9` of an instance left its slots held for 15 minutes. A lease no process
    renews expires; the live holder's leases are renewed and stay."""

    async def go() -> None:
        prefix = f"switchyard-test-{uuid.uuid4().hex[:8]}"
        dead = await redis_or_skip(prefix, lease_s=0.6)
        live = await redis_or_skip(prefix, lease_s=0.6)
        try:
            assert await dead.take([1], 1, "claude") is not None
            kept = await live.take([2], 1, "claude")
            assert kept is not None
            for task in dead.link._tasks:  # the process dies: nothing renews or releases its lease
                task.cancel()
            assert await live.take([1], 1, "claude") is None
            await asyncio.sleep(1.0)
            assert await live.take([1], 1, "claude") is not None  # the dead one's slot expired
            assert await live.take([2], 1, "claude") is None  # its own lease was renewed
        finally:
            await _drop(live, prefix)
            await dead.link.aclose()  # its tasks are gone already; this closes its connections

    asyncio.run(go())


def test_takes_arriving_together_share_round_trips_and_survive_a_redis_that_forgot_its_scripts() -> None:
    """Under load, requests' scripts go out together (one pipeline in flight at a time); a
    restarted Redis answers NOSCRIPT once, the link loads the script and sends it again."""

    async def go() -> None:
        prefix = f"switchyard-test-{uuid.uuid4().hex[:8]}"
        state = await redis_or_skip(prefix)
        try:
            before = state.link.round_trips
            slots = await asyncio.gather(*(state.take([1, 2, 3], 0, "claude") for _ in range(50)))
            assert all(slot is not None and slot.shared for slot in slots)
            assert state.link.round_trips - before < 10
            await state.link.redis.script_flush()
            slot = await state.take([1], 0, "claude")
            assert slot is not None and slot.shared  # not the fallback to this process's memory
            assert state.link.up
        finally:
            await _drop(state, prefix)

    asyncio.run(go())
