"""`open_usage(store, settings)`: the recorder as configured (spool always, Redis stream if set)."""

from __future__ import annotations

from redis.asyncio import Redis

from switchyard.config import Settings
from switchyard.redis_link import RedisLink
from switchyard.store.db import Store
from switchyard.usage.recorder import UsageRecorder
from switchyard.usage.spool import Spool
from switchyard.usage.stream import UsageStream

SPOOL_DIR = "usage-spool"
REDIS_TIMEOUT_S = 2.0


def open_usage(
    store: Store, settings: Settings, link: RedisLink | None = None
) -> tuple[UsageRecorder, Redis | None]:
    """The recorder and the Redis client it owns for draining the stream (the caller closes it
    after the recorder); events are added through the process's `link` when there is one."""
    # Bounded: the last byte of every response waits for its XADD; a Redis that hangs must fail
    # over to the spool file in seconds, not hold every response.
    redis = (
        Redis.from_url(
            settings.redis_url, socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S
        )
        if settings.redis_url
        else None
    )
    stream = (
        UsageStream(redis, prefix=settings.redis_prefix, claim_idle_s=settings.usage_claim_idle_s)
        if redis is not None
        else None
    )
    recorder = UsageRecorder(
        store,
        flush_interval_s=settings.usage_flush_interval_s,
        spool=Spool(settings.data_dir / SPOOL_DIR),
        stream=stream,
        link=link,
    )
    return recorder, redis
