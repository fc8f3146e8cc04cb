"""The gateway process's one link to Redis: is Redis there, the writes that can wait, the leases.

Several instances share key limits and account slots through Redis (`SWITCHYARD_REDIS_URL`).
Redis is fast state, not the truth: when it stops answering (down, restarting, frozen), every
command fails within `timeout_s`, the link is marked *down*, and the key guard and the pool serve
from this process's memory until a background probe sees Redis answer again (every
`PROBE_INTERVAL_S`); then they go back to Redis. Nothing waits on a down Redis.

Round trips cost more than commands (issue 16: 8 a request took a gateway from 2,718 to 1,018
req/s), so what need not be answered on the request path is *deferred*: releases of slots,
refunds, token counts and use counts are queued and sent in one pipeline. Within a request they
gather in the request's batch (`open_batch` / `close_batch`, used by the gateway middleware) and
go out together when the request ends; under load, the batches of many requests share a pipeline.

In-flight slots are *leases*: a member of a sorted set scored by its expiry, counted only while
unexpired. A process renews the leases it holds every third of `lease_s`, so a slot whose holder
crashed or lost Redis frees itself within `lease_s` — a restarted instance is never locked out by
its dead predecessor (issue 16).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from switchyard.config import Settings
from switchyard.metrics import Metrics

log = logging.getLogger("switchyard.redis")
T = TypeVar("T")
PROBE_INTERVAL_S = 1.0
Deferred = Callable[[Pipeline], object]
"""Adds commands to a pipeline (their answers are not read)."""


class RedisDown(Exception):
    """Redis did not answer (or is known not to): use the process's own state instead."""


@dataclass
class _Batch:
    writes: list[tuple[RedisLink, Deferred]] = field(default_factory=list)
    closed: bool = False
    token: contextvars.Token[_Batch | None] | None = None


_batch: contextvars.ContextVar[_Batch | None] = contextvars.ContextVar("switchyard_redis_batch", default=None)


def open_batch() -> _Batch:
    """Start gathering the current request's deferred writes (the middleware, per request)."""
    batch = _Batch()
    batch.token = _batch.set(batch)
    return batch


def close_batch(batch: _Batch) -> None:
    """Hand the request's deferred writes to their links, to go out in one pipeline."""
    batch.closed = True
    if batch.token is not None:
        with contextlib.suppress(ValueError):  # set in another context: nothing to undo here
            _batch.reset(batch.token)
    for link, write in batch.writes:
        link.defer(write, batched=False)
    batch.writes.clear()


class RedisLink:
    """One Redis client, its health, its write-behind queue and its lease renewer."""

    def __init__(self, url: str, *, prefix: str, timeout_s: float = 1.0, lease_s: float = 30.0) -> None:
        self.redis: Redis = Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            health_check_interval=0,
        )
        self.prefix = prefix.rstrip(":")
        self.timeout_s = timeout_s
        self.lease_s = lease_s
        self.up = True
        self._listeners: list[Callable[[bool], None]] = []
        self._queue: list[Deferred] = []
        self._wake = asyncio.Event()
        self._leases: dict[str, str] = {}
        """lease id → the sorted set holding it, for the leases this process holds."""
        self._tasks: list[asyncio.Task[None]] = []
        self.round_trips = 0
        """Commands and pipelines sent (a pipeline is one); for tests and the benchmark."""

    def key(self, *parts: object) -> str:
        return ":".join([self.prefix, *(str(part) for part in parts)])

    # --- health ----------------------------------------------------------------------------

    def on_change(self, listener: Callable[[bool], None]) -> None:
        """`listener(up)` on every change of reachability (metrics, fallback state)."""
        self._listeners.append(listener)

    def _mark(self, up: bool) -> None:
        if up == self.up:
            return
        self.up = up
        if up:
            log.warning("Redis answers again: shared limits and slots are back on Redis")
        else:
            log.error("Redis is unreachable: limits and slots fall back to this process until it answers")
        for listener in self._listeners:
            try:
                listener(up)
            except Exception:
                log.exception("a Redis reachability listener failed")

    async def call(self, command: Awaitable[T]) -> T:
        """One round trip; RedisDown (at once when Redis is known down) instead of any failure."""
        if not self.up:
            close = getattr(command, "close", None)
            if close is not None:
                close()  # an unawaited coroutine would warn
            raise RedisDown
        self.round_trips += 1
        try:
            async with asyncio.timeout(self.timeout_s * 2):
                return await command
        except (RedisError, OSError, TimeoutError) as exc:
            self._mark(False)
            raise RedisDown from exc

    async def check(self) -> bool:
        """Ping now (start-up, readiness); marks the link up or down."""
        try:
            async with asyncio.timeout(self.timeout_s * 2):
                await self.redis.ping()
        except (RedisError, OSError, TimeoutError):
            self._mark(False)
            return False
        self._mark(True)
        return True

    # --- deferred writes -------------------------------------------------------------------

    def defer(self, write: Deferred, *, batched: bool = True) -> None:
        """Send `write` soon, in a pipeline with others; dropped if Redis is down (what it releases
        expires by itself). Inside a request it waits for the request's end (`close_batch`)."""
        batch = _batch.get() if batched else None
        if batch is not None and not batch.closed:
            batch.writes.append((self, write))
            return
        self._queue.append(write)
        self._wake.set()

    async def send_with_batch(self, write: Deferred) -> None:
        """Send `write` now together with the current request's deferred writes, in one pipeline
        (one round trip), and return once Redis has them all; RedisDown if it did not answer (the
        deferred writes are then dropped, as the write-behind queue would: leases expire)."""
        batch = _batch.get()
        writes: list[Deferred] = []
        if batch is not None and not batch.closed and batch.writes:
            writes = [w for link, w in batch.writes if link is self]
            batch.writes = [(link, w) for link, w in batch.writes if link is not self]
        pipe = self.redis.pipeline(transaction=False)
        for deferred in writes:
            deferred(pipe)
        write(pipe)
        await self.call(pipe.execute())

    def hold(self, zset: str, lease_id: str) -> None:
        """Renew this lease until `drop`."""
        self._leases[lease_id] = zset

    def drop(self, zset: str, lease_id: str, *, batched: bool = True) -> None:
        """Give the lease back (a deferred ZREM)."""
        self._leases.pop(lease_id, None)
        self.defer(lambda pipe: pipe.zrem(zset, lease_id), batched=batched)

    async def _flush_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            writes, self._queue = self._queue, []
            if not writes or not self.up:
                continue
            try:
                pipe = self.redis.pipeline(transaction=False)
                for write in writes:
                    write(pipe)
                await self.call(pipe.execute())
            except RedisDown:
                log.info("Redis is unreachable: %d deferred writes dropped (leases expire)", len(writes))

    async def _renew_loop(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            if not self._leases or not self.up:
                continue
            expiry = lease_expiry(self.lease_s)
            pipe = self.redis.pipeline(transaction=False)
            for lease_id, zset in list(self._leases.items()):
                pipe.zadd(zset, {lease_id: expiry}, xx=True)
                pipe.pexpire(zset, int(self.lease_s * 1000) + 1000)
            with contextlib.suppress(RedisDown):
                await self.call(pipe.execute())

    async def _probe_loop(self) -> None:
        while True:
            await asyncio.sleep(PROBE_INTERVAL_S)
            if not self.up:
                await self.check()

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._flush_loop(), name="redis-writes"),
                asyncio.create_task(self._renew_loop(), name="redis-leases"),
                asyncio.create_task(self._probe_loop(), name="redis-probe"),
            ]

    async def aclose(self) -> None:
        """Send what is queued (best effort), stop the tasks, close the connections."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        writes, self._queue = self._queue, []
        if writes and self.up:
            pipe = self.redis.pipeline(transaction=False)
            for write in writes:
                write(pipe)
            with contextlib.suppress(RedisDown):
                await self.call(pipe.execute())
        await self.redis.aclose()


def open_redis_link(settings: Settings, metrics: Metrics) -> RedisLink | None:
    """The link as configured (None without `SWITCHYARD_REDIS_URL`), its reachability a gauge."""
    if not settings.redis_url:
        return None
    link = RedisLink(
        settings.redis_url,
        prefix=settings.redis_prefix,
        timeout_s=settings.redis_timeout_s,
        lease_s=settings.slot_lease_s,
    )
    metrics.redis_up.set(1)
    link.on_change(lambda up: metrics.redis_up.set(1 if up else 0))
    return link


def lease_expiry(lease_s: float, now: float | None = None) -> int:
    """A lease's score: its expiry in epoch milliseconds."""
    return int(((time.time() if now is None else now) + lease_s) * 1000)


def now_ms() -> int:
    return int(time.time() * 1000)


def as_int(value: Any) -> int:
    return int(value) if value is not None else 0
