"""Usage events in a Redis stream, drained into the store by every instance (a consumer group).

With Redis configured, an instance appends each event (`XADD`) before the last byte of its response
is sent; the event then survives that instance dying. Every instance reads the stream as one
consumer of the group `usage-writers` (`XREADGROUP`), writes what it read to the store, then
acknowledges and deletes it (`XACK` + `XDEL`, so the stream holds only what is not yet written).
Entries read by an instance that died before acknowledging stay pending under its consumer name;
after `claim_idle_s` any other instance takes them over (`XAUTOCLAIM`). The store's unique event
id makes a re-delivered event harmless.

When the store is unreachable nothing is acknowledged: the entries stay pending and are read
again (an instance's own pending entries first, from id `0`) until the store answers.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import ResponseError

from switchyard.ids import new_id
from switchyard.usage.record import UsageRecord, from_line, to_line

GROUP = "usage-writers"
FIELD = b"e"
Entry = tuple[bytes, UsageRecord | None]


class UsageStream:
    def __init__(self, redis: Redis, *, prefix: str, claim_idle_s: float) -> None:
        self.redis = redis
        self.key = f"{prefix.rstrip(':')}:usage:events"
        self.consumer = new_id()
        self.claim_idle_ms = int(claim_idle_s * 1000)
        self._group_ready = False

    async def add(self, record: UsageRecord) -> None:
        await self.redis.xadd(self.key, {FIELD: to_line(record)})

    def add_to(self, pipe: Pipeline, record: UsageRecord) -> None:
        """`add` as one command of a pipeline (the request's last Redis round trip, `redis_link`)."""
        pipe.xadd(self.key, {FIELD: to_line(record)})

    async def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:  # from id 0: events added before any instance created the group are read too
            await self.redis.xgroup_create(self.key, GROUP, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
        self._group_ready = True

    async def read(self, count: int) -> list[Entry]:
        """Up to `count` entries to write: this consumer's own pending ones (read before, not yet
        written), else those of dead consumers idle for long enough, else new ones."""
        await self._ensure_group()
        own = await self._read_group("0", count)
        if own:
            return own
        claimed = await self.redis.xautoclaim(
            self.key, GROUP, self.consumer, self.claim_idle_ms, start_id="0-0", count=count
        )
        entries = _entries(claimed[1])
        if entries:
            return entries
        return await self._read_group(">", count)

    async def _read_group(self, start: str, count: int) -> list[Entry]:
        try:
            answer: Any = await self.redis.xreadgroup(GROUP, self.consumer, {self.key: start}, count=count)
        except ResponseError as error:
            if "NOGROUP" not in str(error):
                raise
            self._group_ready = False  # the stream was deleted (FLUSHDB): create it again next time
            return []
        return _entries(answer[0][1]) if answer else []  # RESP2: [[stream, [(id, fields), ...]]]

    async def done(self, ids: list[bytes]) -> None:
        if ids:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.xack(self.key, GROUP, *ids)
                pipe.xdel(self.key, *ids)
                await pipe.execute()


def _entries(raw: list[Any]) -> list[Entry]:
    """(id, event) pairs; the event is None for an entry that is not one (or was deleted)."""
    found: list[Entry] = []
    for entry_id, fields in raw:
        line = fields.get(FIELD) if fields else None
        found.append((entry_id, from_line(line) if isinstance(line, bytes) else None))
    return found
