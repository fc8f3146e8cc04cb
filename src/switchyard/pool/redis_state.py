"""`PoolState` on Redis, so several gateway instances share cooldowns, slots and sticky sessions.

Keys (all under `prefix`, `SWITCHYARD_REDIS_PREFIX`):
    {prefix}:cd:{family}              hash account_id → "until|reason"
    {prefix}:slots:{account_id}       sorted set lease id → expiry (ms): the account's in-flight
                                      requests; only unexpired members count (see `redis_link`)
    {prefix}:uses:{family}:{id}:{n}   counter per rate-window bucket n; expires after two windows
    {prefix}:sticky:{session}         account id; expires with the session TTL

Round trips (issue 16): choosing an account is one script (`_TAKE`: sticky, cap, lease, use count,
sticky renewal), which carries the key's admission when it is still to be checked (a
`redis_link.Gate`); giving it back is deferred into the request's end-of-request pipeline. What the
ranking reads (cooldowns, in-flight counts, recent uses of every account) comes from a snapshot
refreshed in the background every `snapshot_interval_s` by one pipeline, plus this process's own
changes since, so ranking costs no round trip; the cap itself is re-checked by the script.

While Redis is unreachable every method serves from a `MemoryPoolState` (`redis_link`); cooldowns
are written to both, so a fallback remembers the ones this process set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Iterable, Sequence

from switchyard.pool.state import RATE_WINDOW_S, Cooldown, MemoryPoolState, Slot
from switchyard.redis_link import Gate, RedisDown, RedisLink, as_int, lease_expiry, new_lease_id, now_ms

log = logging.getLogger("switchyard.pool")

_TAKE = """
local prefix, now, expiry, lease = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local cap, family, bucket, session = tonumber(ARGV[5]), ARGV[6], ARGV[7], ARGV[8]
local sticky_ttl, keep_ms = tonumber(ARGV[9]), tonumber(ARGV[10])
local ids = {}
for i = 11, #ARGV do ids[#ids + 1] = ARGV[i] end
if session ~= '' then
  local sticky = redis.call('GET', prefix .. ':sticky:' .. session)
  if sticky then
    for i, id in ipairs(ids) do
      if id == sticky then table.remove(ids, i); table.insert(ids, 1, sticky); break end
    end
  end
end
for _, id in ipairs(ids) do
  local slots = prefix .. ':slots:' .. id
  redis.call('ZREMRANGEBYSCORE', slots, '-inf', now)
  if cap <= 0 or redis.call('ZCARD', slots) < cap then
    redis.call('ZADD', slots, expiry, lease)
    redis.call('PEXPIRE', slots, keep_ms)
    local uses = prefix .. ':uses:' .. family .. ':' .. id .. ':' .. bucket
    redis.call('INCR', uses)
    redis.call('EXPIRE', uses, 125)
    if session ~= '' then redis.call('SET', prefix .. ':sticky:' .. session, id, 'PX', sticky_ttl) end
    return id
  end
end
return false
"""

_SET_LATER = """
local key = ARGV[1]
local known = redis.call('HGET', key, ARGV[2])
if known then
  local known_until = tonumber(string.match(known, '^([^|]+)'))
  if known_until and known_until > tonumber(ARGV[4]) and known_until > tonumber(ARGV[5]) then return 0 end
end
redis.call('HSET', key, ARGV[2], ARGV[3])
return 1
"""


class _Snapshot:
    """What the other instances are doing, as of the last refresh."""

    def __init__(self) -> None:
        self.cooldowns: dict[str, dict[int, Cooldown]] = {}
        self.others_in_flight: dict[int, int] = {}
        self.others_uses: dict[tuple[str, int], int] = {}
        self.taken_at = 0.0


class SharedPoolState:
    """The shared implementation, with this process's memory as the fallback."""

    def __init__(self, link: RedisLink, *, snapshot_interval_s: float = 0.075) -> None:
        self.link = link
        self.memory = MemoryPoolState()
        self._snapshot_interval_s = snapshot_interval_s
        self._snap = _Snapshot()
        self._watched: dict[str, set[int]] = {}
        self._mine_in_flight: Counter[int] = Counter()
        self._mine_uses: Counter[tuple[str, int, int]] = Counter()
        self._take = link.script(_TAKE)
        self._set_later = link.script(_SET_LATER)
        self._refresher: asyncio.Task[None] | None = None

    # --- the snapshot ----------------------------------------------------------------------

    def start(self) -> None:
        if self._refresher is None:
            self._refresher = asyncio.create_task(self._refresh_loop(), name="pool-snapshot")

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self._snapshot_interval_s)
            with contextlib.suppress(RedisDown):
                await self.refresh()

    def _watch(self, family: str, account_ids: Iterable[int]) -> bool:
        """Note what the snapshot must cover; True when something new was added."""
        ids = set(account_ids)
        watched = self._watched.setdefault(family, set())
        if ids <= watched:
            return False
        watched |= ids
        return True

    async def refresh(self) -> None:
        """Read every watched family's cooldowns and every watched account's slots and uses in
        one pipeline."""
        families = {family: sorted(ids) for family, ids in self._watched.items()}
        accounts = sorted({i for ids in families.values() for i in ids})
        if not accounts:
            return
        now, bucket = now_ms(), int(time.time()) // RATE_WINDOW_S
        pipe = self.link.redis.pipeline(transaction=False)
        for family in families:
            pipe.hgetall(self.link.key("cd", family))
        for account_id in accounts:
            pipe.zcount(self.link.key("slots", account_id), now, "+inf")
        for family, ids in families.items():
            pipe.mget([self.link.key("uses", family, i, b) for i in ids for b in (bucket, bucket - 1)])
        replies = await self.link.call(pipe.execute())
        snap = _Snapshot()
        wall = time.time()
        for family, raw in zip(families, replies, strict=False):
            found: dict[int, Cooldown] = {}
            for account_id, value in raw.items():
                until_text, _, reason = str(value).partition("|")
                if float(until_text) > wall:
                    found[int(account_id)] = Cooldown(float(until_text), reason)
            snap.cooldowns[family] = found
        counts = replies[len(families) : len(families) + len(accounts)]
        for account_id, total in zip(accounts, counts, strict=True):
            snap.others_in_flight[account_id] = max(0, int(total) - self._mine_in_flight[account_id])
        for (family, ids), values in zip(
            families.items(), replies[len(families) + len(accounts) :], strict=True
        ):
            for n, account_id in enumerate(ids):
                total = as_int(values[2 * n]) + as_int(values[2 * n + 1])
                mine = (
                    self._mine_uses[(family, account_id, bucket)]
                    + self._mine_uses[(family, account_id, bucket - 1)]
                )
                snap.others_uses[(family, account_id)] = max(0, total - mine)
        snap.taken_at = wall
        self._snap = snap
        if len(self._mine_uses) > 4096:
            self._mine_uses = Counter({k: v for k, v in self._mine_uses.items() if k[2] >= bucket - 1})

    async def _fresh(self, family: str, account_ids: Iterable[int]) -> None:
        """Read Redis now for accounts or a family never seen before (the first request of each)."""
        if self._watch(family, account_ids) or family not in self._snap.cooldowns:
            await self.refresh()

    # --- PoolState -------------------------------------------------------------------------

    async def cooldowns(self, family: str, account_ids: Iterable[int]) -> dict[int, Cooldown]:
        ids = list(account_ids)
        if not self.link.up:
            return await self.memory.cooldowns(family, ids)
        try:
            await self._fresh(family, ids)
        except RedisDown:
            return await self.memory.cooldowns(family, ids)
        now = time.time()
        shared = self._snap.cooldowns.get(family, {})
        found = {i: shared[i] for i in ids if i in shared and shared[i].until > now}
        for account_id, mine in (await self.memory.cooldowns(family, ids)).items():
            if account_id not in found or found[account_id].until < mine.until:
                found[account_id] = mine
        return found

    async def set_cooldown(self, account_id: int, family: str, cooldown: Cooldown) -> None:
        await self.memory.set_cooldown(account_id, family, cooldown)
        value = f"{cooldown.until!r}|{cooldown.reason}"
        with contextlib.suppress(RedisDown):
            await self.link.eval(
                self._set_later,
                [
                    self.link.key("cd", family),
                    str(account_id),
                    value,
                    repr(cooldown.until),
                    repr(time.time()),
                ],
            )

    async def take(
        self,
        ranking: Sequence[int],
        cap: int,
        family: str,
        *,
        session: str | None = None,
        sticky_ttl_s: float = 0.0,
        gate: Gate | None = None,
    ) -> Slot | None:
        if not ranking:
            return None
        if self.link.up:
            lease_id = new_lease_id()
            bucket = int(time.time()) // RATE_WINDOW_S
            args: list[str | int] = [
                self.link.prefix,
                now_ms(),
                lease_expiry(self.link.lease_s),
                lease_id,
                cap,
                family,
                bucket,
                session or "",
                max(1, int(sticky_ttl_s * 1000)),
                int(self.link.lease_s * 1000) + 1000,
                *ranking,
            ]
            try:
                chosen = await self.link.eval(self._take, args, gate=gate)
            except RedisDown:
                pass
            else:
                if not chosen:
                    return None
                account_id = int(chosen)
                self._mine_in_flight[account_id] += 1
                self._mine_uses[(family, account_id, bucket)] += 1
                self.link.hold(self.link.key("slots", account_id), lease_id)
                return Slot(account_id, lease_id, shared=True)
        return await self.memory.take(ranking, cap, family, session=session, sticky_ttl_s=sticky_ttl_s)

    async def release(self, slot: Slot, *, urgent: bool = False) -> None:
        if not slot.shared:
            await self.memory.release(slot)
            return
        left = self._mine_in_flight[slot.account_id] - 1
        if left > 0:
            self._mine_in_flight[slot.account_id] = left
        else:
            self._mine_in_flight.pop(slot.account_id, None)
        self.link.drop(self.link.key("slots", slot.account_id), slot.lease_id, batched=not urgent)

    async def in_flight(self, account_ids: Iterable[int]) -> dict[int, int]:
        ids = list(account_ids)
        local = await self.memory.in_flight(ids)
        if not self.link.up:
            return local
        others = self._snap.others_in_flight
        return {i: others.get(i, 0) + self._mine_in_flight[i] + local[i] for i in ids}

    async def note_use(self, account_id: int, family: str) -> None:
        if not self.link.up:
            await self.memory.note_use(account_id, family)
            return
        bucket = int(time.time()) // RATE_WINDOW_S
        self._mine_uses[(family, account_id, bucket)] += 1
        key = self.link.key("uses", family, account_id, bucket)

        def count(pipe: object) -> None:
            pipe.incr(key)  # type: ignore[attr-defined]
            pipe.expire(key, 2 * RATE_WINDOW_S + 5)  # type: ignore[attr-defined]

        self.link.defer(count)

    async def recent_uses(self, family: str, account_ids: Iterable[int]) -> dict[int, int]:
        ids = list(account_ids)
        local = await self.memory.recent_uses(family, ids)
        if not self.link.up:
            return local
        bucket = int(time.time()) // RATE_WINDOW_S
        mine = self._mine_uses
        others = self._snap.others_uses
        return {
            i: others.get((family, i), 0)
            + mine[(family, i, bucket)]
            + mine[(family, i, bucket - 1)]
            + local[i]
            for i in ids
        }

    async def sticky(self, session: str) -> int | None:
        try:
            value = await self.link.call(self.link.redis.get(self.link.key("sticky", session)))
        except RedisDown:
            return await self.memory.sticky(session)
        return int(value) if value is not None else None

    async def set_sticky(self, session: str, account_id: int, ttl_s: float) -> None:
        await self.memory.set_sticky(session, account_id, ttl_s)
        with contextlib.suppress(RedisDown):
            await self.link.call(
                self.link.redis.set(
                    self.link.key("sticky", session), account_id, px=max(1, int(ttl_s * 1000))
                )
            )

    async def aclose(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
            self._refresher = None
