"""The Redis usage stream: entries a dead instance read but never wrote are taken over by another
(XAUTOCLAIM) once idle long enough, and an event delivered twice is written once."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select

from switchyard.config import Settings
from switchyard.store.db import Store
from switchyard.store.tables import UsageEvent
from switchyard.usage import Spool, UsageRecord, UsageRecorder, UsageStream
from switchyard.usage.writer import write_batch
from tests.conftest import run_with_store

REDIS_URL = os.environ.get("SWITCHYARD_TEST_REDIS", "redis://127.0.0.1:6379/0")


def _event(index: int) -> UsageRecord:
    return UsageRecord(
        created_at=time.time(),
        request_id=f"r{index}",
        key_id=None,
        key_name="k",
        surface="openai",
        provider="antigravity",
        model="gemini-2.5-flash",
        account="a",
        status=200,
        error_class=None,
        stream=False,
        prompt_tokens=1,
        completion_tokens=2,
        reasoning_tokens=0,
        latency_ms=1.0,
        ttfb_ms=None,
    )


async def _count(store: Store) -> int:
    async with store.sessions() as session:
        return int(await session.scalar(select(func.count(UsageEvent.id))) or 0)


def test_a_dead_consumers_entries_are_claimed_and_written_once(store_settings: Settings) -> None:
    prefix = f"switchyard-test-{uuid.uuid4().hex[:8]}"

    async def work(store: Store) -> tuple[int, int, int, int]:
        redis = Redis.from_url(REDIS_URL)
        try:
            await redis.ping()
        except Exception:
            pytest.skip(f"Redis is not reachable at {REDIS_URL}")
        try:
            dead = UsageStream(redis, prefix=prefix, claim_idle_s=0.3)
            for index in range(5):
                await UsageRecorder(store, stream=dead).persist(_event(index))
            taken = await dead.read(100)  # read, then the instance "dies" before writing
            survivor = UsageRecorder(store, stream=UsageStream(redis, prefix=prefix, claim_idle_s=0.3))
            too_soon = await survivor.flush()  # the dead consumer's entries are not idle yet
            await asyncio.sleep(0.4)
            claimed = await survivor.flush()
            again = await write_batch(store, [record for _, record in taken if record])  # re-delivered
            left = await redis.xlen(dead.key)
            assert await _count(store) == 5
            return too_soon, claimed, again, left
        finally:
            await redis.delete(f"{prefix}:usage:events")
            await redis.aclose()

    too_soon, claimed, again, left = run_with_store(store_settings, work)
    assert (too_soon, claimed, left) == (0, 5, 0)
    assert again == 5  # handed to the store, which skipped them: still 5 rows


def test_a_spool_left_by_a_dead_process_is_replayed_once(tmp_path: Path, store_settings: Settings) -> None:
    spool_dir = tmp_path / "spool"

    async def work(store: Store) -> tuple[int, int]:
        dead = Spool(spool_dir)
        for index in range(3):
            dead.append(_event(index))
        # the dead process's segment is still open (no seal): its lock died with it; here, release it
        dead.seal()
        recorder = UsageRecorder(store, spool=Spool(spool_dir))
        written = await recorder.flush()
        await recorder.close()
        return written, await _count(store)

    assert run_with_store(store_settings, work) == (3, 3)
    assert not list(spool_dir.glob("*.jsonl"))


def test_with_redis_unreachable_events_go_to_the_spool_and_reach_the_store(
    tmp_path: Path, store_settings: Settings
) -> None:
    async def work(store: Store) -> tuple[int, int, list[Path]]:
        redis = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)  # nothing listens
        try:
            spool = Spool(tmp_path / "spool")
            recorder = UsageRecorder(
                store, spool=spool, stream=UsageStream(redis, prefix="unreachable", claim_idle_s=30)
            )
            for index in range(3):
                await recorder.persist(_event(index))
            spooled = list(spool.directory.glob("*.jsonl"))
            written = await recorder.flush()  # Redis failing does not stop the spool's events
            await recorder.close()
            return written, await _count(store), spooled
        finally:
            await redis.aclose()

    written, rows, spooled = run_with_store(store_settings, work)
    assert len(spooled) == 1 and (written, rows) == (3, 3)
