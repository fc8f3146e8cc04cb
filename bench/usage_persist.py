"""What making a usage event durable costs a request (issue 16): the spool file's `write()` and
the Redis stream's `XADD`, each awaited before a response's last byte.

    python -m bench.usage_persist [--events 20000] [--redis redis://127.0.0.1:6379/0]

Prints microseconds per event for each (sequential: the latency one request pays, not a
throughput). Nothing is written to a database; the Redis key is deleted afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

from redis.asyncio import Redis

from switchyard.usage import Spool, UsageRecord, UsageRecorder, UsageStream


def _event(index: int) -> UsageRecord:
    return UsageRecord(
        created_at=time.time(),
        request_id=f"bench-{index}",
        key_id=1,
        key_name="bench",
        surface="openai",
        provider="antigravity",
        model="gemini-2.5-flash",
        account="antigravity-1",
        status=200,
        error_class=None,
        stream=True,
        prompt_tokens=12,
        completion_tokens=340,
        reasoning_tokens=0,
        latency_ms=812.5,
        ttfb_ms=120.25,
    )


async def _per_event_us(recorder: UsageRecorder, events: list[UsageRecord]) -> float:
    started = time.perf_counter()
    for event in events:
        await recorder.persist(event)
    return (time.perf_counter() - started) / len(events) * 1e6


async def main(count: int, redis_url: str | None) -> None:
    events = [_event(index) for index in range(count)]
    with tempfile.TemporaryDirectory() as directory:
        spool = UsageRecorder(None, spool=Spool(Path(directory)))  # type: ignore[arg-type]  # no store
        print(f"spool file write(): {await _per_event_us(spool, events):.1f} µs/event")
    if redis_url:
        redis = Redis.from_url(redis_url)
        stream = UsageStream(redis, prefix=f"bench-{uuid.uuid4().hex[:8]}", claim_idle_s=30)
        try:
            recorder = UsageRecorder(None, stream=stream)  # type: ignore[arg-type]
            print(f"Redis XADD: {await _per_event_us(recorder, events[: count // 4 or 1]):.1f} µs/event")
        finally:
            await redis.delete(stream.key)
            await redis.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.events, arguments.redis or None))
