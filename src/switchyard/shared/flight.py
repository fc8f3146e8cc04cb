"""One computation across instances, its result shared through Redis for as long as it is good.

Every instance refreshing the same account's access token at the same moment (they all reach its
refresh point together) tripled the calls to Google's token endpoint, and onboarding a new account
ran once per instance. `SharedFlight.run(name, ...)` first reads the shared result; if there is none
it takes a short lock (`SET NX PX`) and computes, or — another instance holds the lock — waits for
that instance's result. Keys, under `SWITCHYARD_REDIS_PREFIX`:

    {prefix}:flight:<name>        the result, sealed with the store's key (`store/crypto.py`),
                                  expiring when the result stops being usable
    {prefix}:flight:<name>:lock   the holder's random token, expiring after `lock_s`

A result is a `dict[str, str]`, sealed and opened by a `Sealer` (the store's `SecretBox`), so an
access token never rests in Redis in the clear. Failures are not shared: the lock is released and
the next caller tries again. If Redis cannot be reached, or the holder neither answers nor lets go
within `lock_s`, the instance computes on its own: at worst one extra call, never a stuck request.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("switchyard.flight")

Value = dict[str, str]
Computed = tuple[Value, float]
"""A result and how many seconds other instances may use it (0: do not share it)."""

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class Sealer(Protocol):
    def seal(self, secret: dict[str, str]) -> str: ...

    def open(self, token: str) -> dict[str, str]: ...


class SharedFlight:
    def __init__(
        self, redis: Redis, prefix: str, sealer: Sealer, *, lock_s: float = 30.0, poll_s: float = 0.02
    ) -> None:
        self.redis = redis
        self.prefix = prefix.rstrip(":")
        self.sealer = sealer
        self.lock_s = lock_s
        self.poll_s = poll_s

    def _key(self, name: str) -> str:
        return f"{self.prefix}:flight:{name}"

    async def run(
        self, name: str, compute: Callable[[], Awaitable[Computed]], usable: Callable[[Value], bool]
    ) -> Value:
        """The shared result of `name` if `usable`; else the one this call or another instance
        computes now, under the lock."""
        try:
            return await self._run(name, compute, usable)
        except (RedisError, OSError) as error:
            log.warning("shared %s: Redis unreachable (%s); computing it here", name.split(":")[0], error)
            value, _ = await compute()
            return value

    async def _run(
        self, name: str, compute: Callable[[], Awaitable[Computed]], usable: Callable[[Value], bool]
    ) -> Value:
        key, lock = self._key(name), self._key(name) + ":lock"
        deadline = time.monotonic() + self.lock_s
        while True:
            shared = await self._read(key)
            if shared is not None and usable(shared):
                return shared
            token = secrets.token_hex(8)
            if await self.redis.set(lock, token, nx=True, px=int(self.lock_s * 1000)):
                try:
                    shared = await self._read(key)  # the holder before us may have just finished
                    if shared is not None and usable(shared):
                        return shared
                    value, share_s = await compute()
                    if share_s > 0:
                        await self.redis.set(key, self.sealer.seal(value), px=max(1, int(share_s * 1000)))
                    return value
                finally:
                    await self.redis.eval(_RELEASE, 1, lock, token)
            if time.monotonic() > deadline:
                log.warning("shared %s: the lock holder did not finish in time; computing it here", name)
                value, _ = await compute()
                return value
            await asyncio.sleep(self.poll_s)

    async def _read(self, key: str) -> Value | None:
        raw = await self.redis.get(key)
        if raw is None:
            return None
        try:
            return self.sealer.open(raw.decode() if isinstance(raw, bytes) else str(raw))
        except Exception:  # sealed with another key (SWITCHYARD_SECRET_KEY changed): ignore it
            return None

    async def aclose(self) -> None:
        await self.redis.aclose()
