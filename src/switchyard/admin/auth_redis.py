"""Console logouts and the wrong-admin-key brake, shared by every instance through Redis.

Behind a load balancer each request may land on another instance: a logout must end the session
everywhere, and ten wrong admin keys a minute must be ten wherever they were tried (three instances
would otherwise allow thirty). Keys (under `SWITCHYARD_REDIS_PREFIX`):

    {prefix}:admin:revoked:<session id>   "1", expiring when the session would have
    {prefix}:admin:fail:<client address>  sorted set of the last wrong-key moments (epoch seconds)

If Redis cannot be reached the instance falls back to what it knows itself (its own logouts and
its own count of wrong keys) and logs a warning: the console and the Bearer key keep working.
"""

from __future__ import annotations

import logging
import secrets
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger("switchyard.admin")

FAILURE_ERRORS = (RedisError, OSError)


class RedisAdminState:
    def __init__(self, redis_url: str, prefix: str) -> None:
        self.redis = Redis.from_url(redis_url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self.prefix = prefix.rstrip(":")

    def _revoked_key(self, session: str) -> str:
        return f"{self.prefix}:admin:revoked:{session}"

    def _failures_key(self, client: str) -> str:
        return f"{self.prefix}:admin:fail:{client}"

    async def revoke(self, session: str, ttl_s: float) -> None:
        await self.redis.set(self._revoked_key(session), b"1", px=max(1, int(ttl_s * 1000)))

    async def is_revoked(self, session: str) -> bool:
        return bool(await self.redis.exists(self._revoked_key(session)))

    async def note_failure(self, client: str, keep: int, window_s: float) -> None:
        """Add one wrong-key moment; keep only the last `keep`, the whole set expiring with the window."""
        key, now = self._failures_key(client), time.time()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {f"{now:.6f}:{secrets.token_hex(4)}": now})
            pipe.zremrangebyrank(key, 0, -keep - 1)
            pipe.pexpire(key, int(window_s * 1000))
            await pipe.execute()

    async def recent_failures(self, client: str, window_s: float) -> list[float]:
        """The moments of the wrong keys within the window, oldest first."""
        key = self._failures_key(client)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(key, "-inf", time.time() - window_s)
            pipe.zrange(key, 0, -1, withscores=True)
            _, entries = await pipe.execute()
        return [float(score) for _, score in entries]

    async def aclose(self) -> None:
        await self.redis.aclose()
