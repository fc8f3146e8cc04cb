"""`PoolState` on Redis, so several gateway instances share cooldowns, slots and sticky sessions.

Keys (all under `prefix`, `SWITCHYARD_REDIS_PREFIX`):
    {prefix}:cd:{family}              hash account_id → "until|reason"
    {prefix}:inflight:{account_id}    counter; expires so a crashed instance's slots come back
    {prefix}:uses:{family}:{id}:{n}   counter per rate-window bucket n; expires after two windows
    {prefix}:sticky:{session}         account id; expires with the session TTL
Only atomic single-key commands and one small Lua script (the slot cap) are used, so there is no
lock to hold and nothing to clean up when an instance dies mid-request.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from redis.asyncio import Redis

from switchyard.pool.state import RATE_WINDOW_S, Cooldown

SLOT_TTL_S = 900
"""A slot an instance never released (it crashed) frees itself after this long."""

_ACQUIRE = """
local running = tonumber(redis.call('GET', KEYS[1]) or '0')
local cap = tonumber(ARGV[1])
if cap > 0 and running >= cap then return 0 end
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""

_SET_LATER = """
local known = redis.call('HGET', KEYS[1], ARGV[1])
if known then
  local known_until = tonumber(string.match(known, '^([^|]+)'))
  if known_until and known_until > tonumber(ARGV[3]) and known_until > tonumber(ARGV[4]) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""


class RedisPoolState:
    """The shared implementation; one client (connection pool) per gateway process."""

    def __init__(self, url: str, *, prefix: str = "switchyard") -> None:
        self._redis: Redis = Redis.from_url(url, decode_responses=True)
        self._prefix = prefix.rstrip(":")
        self._acquire = self._redis.register_script(_ACQUIRE)
        self._set_later = self._redis.register_script(_SET_LATER)

    def _key(self, *parts: object) -> str:
        return ":".join([self._prefix, *(str(part) for part in parts)])

    async def ping(self) -> None:
        """Fail early (at startup) when Redis is unreachable."""
        await self._redis.ping()

    async def cooldowns(self, family: str, account_ids: Iterable[int]) -> dict[int, Cooldown]:
        ids = list(account_ids)
        if not ids:
            return {}
        key = self._key("cd", family)
        values = await self._redis.hmget(key, [str(i) for i in ids])
        now = time.time()
        found: dict[int, Cooldown] = {}
        expired: list[str] = []
        for account_id, raw in zip(ids, values, strict=True):
            if raw is None:
                continue
            until_text, _, reason = str(raw).partition("|")
            until = float(until_text)
            if until <= now:
                expired.append(str(account_id))
            else:
                found[account_id] = Cooldown(until, reason)
        if expired:
            await self._redis.hdel(key, *expired)
        return found

    async def set_cooldown(self, account_id: int, family: str, cooldown: Cooldown) -> None:
        value = f"{cooldown.until!r}|{cooldown.reason}"
        await self._set_later(
            keys=[self._key("cd", family)],
            args=[str(account_id), value, repr(cooldown.until), repr(time.time())],
        )

    async def acquire(self, account_id: int, cap: int) -> bool:
        taken = await self._acquire(keys=[self._key("inflight", account_id)], args=[cap, SLOT_TTL_S])
        return bool(taken)

    async def release(self, account_id: int) -> None:
        key = self._key("inflight", account_id)
        if await self._redis.decr(key) < 0:
            await self._redis.set(key, 0, ex=SLOT_TTL_S)

    async def in_flight(self, account_ids: Iterable[int]) -> dict[int, int]:
        ids = list(account_ids)
        if not ids:
            return {}
        values = await self._redis.mget([self._key("inflight", i) for i in ids])
        return {i: max(0, int(v or 0)) for i, v in zip(ids, values, strict=True)}

    async def note_use(self, account_id: int, family: str) -> None:
        key = self._key("uses", family, account_id, int(time.time()) // RATE_WINDOW_S)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.incr(key)
            pipe.expire(key, 2 * RATE_WINDOW_S + 5)
            await pipe.execute()

    async def recent_uses(self, family: str, account_ids: Iterable[int]) -> dict[int, int]:
        ids = list(account_ids)
        if not ids:
            return {}
        bucket = int(time.time()) // RATE_WINDOW_S
        keys = [self._key("uses", family, i, b) for i in ids for b in (bucket, bucket - 1)]
        values = await self._redis.mget(keys)
        return {i: int(values[2 * n] or 0) + int(values[2 * n + 1] or 0) for n, i in enumerate(ids)}

    async def sticky(self, session: str) -> int | None:
        value = await self._redis.get(self._key("sticky", session))
        return int(value) if value is not None else None

    async def set_sticky(self, session: str, account_id: int, ttl_s: float) -> None:
        await self._redis.set(self._key("sticky", session), account_id, px=max(1, int(ttl_s * 1000)))

    async def aclose(self) -> None:
        await self._redis.aclose()
