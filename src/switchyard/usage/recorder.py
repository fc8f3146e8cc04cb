"""The usage recorder: every event durable before its response completes, written to the store
in the background.

Writing each event to the store on the request's path would put a database round trip on every
request, and lose the event whenever the store is down. So `persist()` — awaited by the gateway
middleware just before the last byte of a response is sent — only makes the event durable:
`XADD` to the Redis stream when Redis is configured (`stream.py`), else one `write()` to the local
spool file (`spool.py`); if Redis fails, the spool file takes the event. With the process's Redis
link (`redis_link.py`) the `XADD` goes in one pipeline with the request's other deferred writes
(slot releases, refunds): the request's last Redis round trip, not an extra one. A background task drains
the spool and the stream into the store every `flush_interval_s` (`writer.py`). When the store is
unreachable the events wait where they are — in the spool files and the stream, not in memory —
and are written when it answers again; at startup what a dead process left is drained first.

`record()` is the same without waiting (responses that did not complete: the client left, the
gateway cut the stream). Without a spool (tests, tools) events wait in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator

from redis.exceptions import RedisError

from switchyard.redis_link import RedisDown, RedisLink
from switchyard.store.db import Store
from switchyard.store.reachable import store_unreachable
from switchyard.usage.record import UsageRecord
from switchyard.usage.spool import Spool
from switchyard.usage.stream import UsageStream
from switchyard.usage.writer import write_batch

log = logging.getLogger("switchyard.usage")
BATCH = 500
STREAM_ROUNDS = 20
"""Batches read from the stream per flush, so one instance's flush stays bounded."""


def _chunks(records: list[UsageRecord]) -> Iterator[list[UsageRecord]]:
    for start in range(0, len(records), BATCH):
        yield records[start : start + BATCH]


class UsageRecorder:
    """Makes usage events durable at once and writes them to the store in batches."""

    def __init__(
        self,
        store: Store,
        *,
        flush_interval_s: float = 1.0,
        spool: Spool | None = None,
        stream: UsageStream | None = None,
        link: RedisLink | None = None,
    ) -> None:
        self._store = store
        self._link = link
        self._interval = flush_interval_s
        self._spool = spool
        self._stream = stream
        self._buffer: list[UsageRecord] = []
        self._adding: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._redis_failing = False

    async def persist(self, record: UsageRecord) -> None:
        """Return once the event survives this process dying (Redis stream or spool file)."""
        stream = self._stream
        if stream is not None:
            try:
                if self._link is not None:
                    await self._link.send_with_batch(lambda pipe: stream.add_to(pipe, record))
                else:
                    await stream.add(record)
            except (RedisError, OSError, RedisDown) as error:
                if not self._redis_failing:
                    self._redis_failing = True
                    log.warning("usage events go to the local spool: Redis failed (%s)", type(error).__name__)
            else:
                self._redis_failing = False
                return
        self._append_local(record)

    def record(self, record: UsageRecord) -> None:
        """`persist()` without waiting for it."""
        if self._stream is None:
            self._append_local(record)
            return
        task = asyncio.create_task(self.persist(record))
        self._adding.add(task)
        task.add_done_callback(self._adding.discard)

    def _append_local(self, record: UsageRecord) -> None:
        if self._spool is not None:
            try:
                self._spool.append(record)
                return
            except OSError as error:  # a full disk must not fail the request: memory it is
                log.error("could not append to the usage spool (%s); keeping the event in memory", error)
        self._buffer.append(record)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="usage-flush")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.flush()
            except Exception as error:
                if not store_unreachable(error):  # an unreachable store is logged once, by its health
                    log.exception("writing usage events failed; will retry")

    async def flush(self) -> int:
        """Write what waits in memory, the spool and the stream. Raises when the store is
        unreachable (what was not written stays where it was)."""
        async with self._lock:
            return await self._flush_memory() + await self._flush_spool() + await self._flush_stream()

    async def _flush_memory(self) -> int:
        batch, self._buffer = self._buffer, []
        if not batch:
            return 0
        try:
            return await write_batch(self._store, batch)
        except BaseException:
            self._buffer[:0] = batch
            raise

    async def _flush_spool(self) -> int:
        if self._spool is None:
            return 0
        self._spool.seal()
        written = 0
        for path in self._spool.sealed():
            with self._spool.claim(path) as records:
                if records is None:
                    continue
                for chunk in _chunks(records):
                    written += await write_batch(self._store, chunk)
                self._spool.done(path)
        return written

    async def _flush_stream(self) -> int:
        if self._stream is None:
            return 0
        written = 0
        try:
            for _ in range(STREAM_ROUNDS):
                entries = await self._stream.read(BATCH)
                if not entries:
                    break
                records = [record for _, record in entries if record is not None]
                if records:
                    written += await write_batch(self._store, records)
                await self._stream.done([entry_id for entry_id, _ in entries])
        except RedisError as error:  # the store's errors go up; Redis's wait for the next flush
            log.warning("reading usage events from Redis failed (%s); will retry", type(error).__name__)
        return written

    def _waiting(self) -> bool:
        return bool(self._buffer) or (self._spool is not None and bool(self._spool.sealed()))

    async def close(self) -> None:
        """Stop the background writer and write what is left, for up to 10 s; what the store
        does not take by then stays in the spool or the stream for the next start."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._adding:
            await asyncio.gather(*list(self._adding), return_exceptions=True)
        if self._spool is not None:
            self._spool.seal()
        deadline = time.monotonic() + 10
        while True:
            try:
                await self.flush()
                if not self._waiting():
                    break
            except Exception:
                log.warning("final usage flush failed; retrying", exc_info=True)
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(0.2)
        if self._buffer:
            log.error("dropped %d usage events: the store stayed unwritable", len(self._buffer))
        if self._spool is not None and self._spool.sealed():
            log.warning(
                "usage events wait in %s for the next start: the store stayed unreachable",
                self._spool.directory,
            )
