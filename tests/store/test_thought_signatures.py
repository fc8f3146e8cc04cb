"""Thought signatures in the store (bounded, expiring, swept) and on Redis (issue 13)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid

import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select

from switchyard.config import Settings
from switchyard.store.db import Store, open_store
from switchyard.store.tables import ThoughtSignature
from switchyard.store.thought_signatures import (
    WRITE_DELAY_S,
    RedisSignatures,
    StoreSignatures,
    TieredSignatures,
)
from switchyard.translate.signatures import SignatureCache, SignedThought
from tests.pool.test_state import REDIS_URL

CLAUDE = SignedThought("claude", "c2lnbmF0dXJl", "I should call the tool")


def test_store_keeps_replaces_bounds_and_expires(store_settings: Settings) -> None:
    async def go() -> None:
        store = await open_store(store_settings)
        try:
            backing = StoreSignatures(store, ttl_s=60, max_rows=3)
            await backing.save([(f"call:{n}", CLAUDE) for n in range(5)])
            assert await _count(store) == 0, "written behind, gathered into one upsert"
            await backing.flush()
            assert await _count(store) == 3, "the sweep keeps max_rows"
            await backing.save([("call:x", SignedThought("gemini-3", "Zm9v"))])
            await backing.save([("call:x", SignedThought("gemini-3", "YmFy"))])
            await backing.flush()
            assert (await backing.load(["call:x", "call:none"])) == {
                "call:x": SignedThought("gemini-3", "YmFy")
            }
            expired = StoreSignatures(store, ttl_s=-1, max_rows=10)
            await expired.save([("think:old", CLAUDE)])
            await expired.aclose()
            assert await backing.load(["think:old"]) == {}, "expired rows are never replayed"
        finally:
            await store.close()

    asyncio.run(go())


async def _count(store: Store) -> int:
    async with store.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(ThoughtSignature)) or 0)


def test_cache_recalls_what_another_instance_saved(store_settings: Settings) -> None:
    async def go() -> None:
        store = await open_store(store_settings)
        try:
            writer, reader = SignatureCache(), SignatureCache()
            written = StoreSignatures(store, ttl_s=60, max_rows=100)
            writer.attach(written)
            reader.attach(StoreSignatures(store, ttl_s=60, max_rows=100))
            writer.remember_tool_call("toolu_1", CLAUDE)
            writer.remember_thinking("I should call the tool", CLAUDE)
            await writer.save()
            await asyncio.sleep(WRITE_DELAY_S * 2)  # the writer's background flush
            assert reader.tool_call("toolu_1", "claude") is None
            await reader.recall(tool_call_ids=["toolu_1"], thinking_texts=["I should call the tool"])
            assert reader.tool_call("toolu_1", "claude") == CLAUDE
            assert reader.thinking("I should call the tool", "claude") == CLAUDE
            assert reader.tool_call("toolu_1", "gemini-3") is None, "families never cross"
        finally:
            await store.close()

    asyncio.run(go())


def test_redis_first_then_the_store(store_settings: Settings) -> None:
    async def go() -> None:
        redis = Redis.from_url(REDIS_URL)
        try:
            await asyncio.wait_for(redis.ping(), 2)
        except Exception as exc:
            await redis.aclose()
            if os.environ.get("CI") == "true":
                raise AssertionError(f"Redis at {REDIS_URL} is required under CI: {exc!r}") from exc
            pytest.skip(f"no Redis at {REDIS_URL}")
        store = await open_store(store_settings)
        try:
            prefix = f"test-{uuid.uuid4().hex[:8]}"
            shared = RedisSignatures(redis, prefix=prefix, ttl_s=60)
            table = StoreSignatures(store, ttl_s=60, max_rows=100)
            await TieredSignatures(shared, table).save([("call:a", CLAUDE)])
            assert await shared.load(["call:a"]) == {"call:a": CLAUDE}
            assert await table.load(["call:a"]) == {"call:a": CLAUDE}
            await table.save([("call:b", CLAUDE)])  # only in the store (Redis was flushed, say)
            both = await TieredSignatures(shared, table).load(["call:a", "call:b", "call:c"])
            assert both == {"call:a": CLAUDE, "call:b": CLAUDE}
            ttl = await redis.ttl(f"{prefix}:sig:" + hashlib.sha256(b"call:a").hexdigest())
            assert 0 < ttl <= 60
        finally:
            await redis.aclose()
            await store.close()

    asyncio.run(go())


def test_a_failing_tier_never_fails_the_request() -> None:
    class Broken:
        async def save(self, entries: object) -> None:
            raise ConnectionError("down")

        async def load(self, keys: object) -> dict[str, SignedThought]:
            raise ConnectionError("down")

    async def go() -> None:
        cache = SignatureCache()
        cache.attach(Broken())
        cache.remember_tool_call("x", CLAUDE)
        await cache.save()
        await cache.recall(tool_call_ids=["y"])
        assert cache.tool_call("x", "claude") == CLAUDE

    asyncio.run(go())
