"""Key and account changes, announced to every gateway instance over Redis pub/sub.

Each instance caches what the request path reads on every request: verified client keys
(`keys/guard.py`) and the account list (`pool/pool.py`). A change made through one instance's
admin API, or with the CLI, must reach the others' caches at once, not when they expire (a
disabled key kept working for two seconds, about 140 requests). So whoever commits a change
publishes a notice, and every instance subscribes at start-up and drops the affected entries.

The message, JSON on the channel `{SWITCHYARD_REDIS_PREFIX}:changes`:

    {"v": 1, "scope": "keys" | "accounts", "action": "created" | "updated" | "disabled" |
     "deleted" | "changed", "id": <row id> | null, "origin": "<instance id>"}

Only `scope` decides what is dropped (a whole cache: changes are rare, reloads cheap); the rest
says what happened, for logs and for a later, finer invalidation. An instance ignores its own
notices (it applied them when publishing). Pub/sub delivers only to listeners connected at the
time: after the subscription is lost and regained, the instance drops every cache, since it may
have missed notices; the caches' TTLs bound staleness while Redis is away.

Without Redis (one instance) the notice goes to this process's listeners only; the CLI, another
process, then reaches a running gateway when the caches expire (`SWITCHYARD_KEY_CACHE_TTL_S`,
`SWITCHYARD_ACCOUNTS_RELOAD_INTERVAL_S`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, get_args

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

log = logging.getLogger("switchyard.changes")

Scope = Literal["keys", "accounts"]
SCOPES: tuple[Scope, ...] = get_args(Scope)
VERSION = 1
RESUBSCRIBE_DELAY_S = 0.5
REDIS_TIMEOUT_S = 2.0
"""A Redis that does not answer within this must not hold up the admin request that announces."""
Listener = Callable[["Change"], None]


def channel(prefix: str) -> str:
    return f"{prefix.rstrip(':')}:changes"


@dataclass(frozen=True)
class Change:
    """One committed change of a key or an account."""

    scope: Scope
    action: str = "changed"
    id: int | None = None
    origin: str = ""

    def encode(self) -> bytes:
        return orjson.dumps(
            {"v": VERSION, "scope": self.scope, "action": self.action, "id": self.id, "origin": self.origin}
        )

    @classmethod
    def decode(cls, raw: bytes | str) -> Change | None:
        """The change, or None for a message this version does not understand (logged, skipped)."""
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(data, dict) or data.get("v") != VERSION or data.get("scope") not in SCOPES:
            return None
        row_id = data.get("id")
        return cls(
            scope=data["scope"],
            action=str(data.get("action") or "changed"),
            id=row_id if isinstance(row_id, int) else None,
            origin=str(data.get("origin") or ""),
        )


class ChangeFeed:
    """Publishes this instance's changes and hands everyone's to the local listeners."""

    def __init__(self, redis_url: str | None, prefix: str) -> None:
        self.origin = secrets.token_hex(8)
        self._channel = channel(prefix)
        self._redis: Redis | None = (
            Redis.from_url(redis_url, socket_connect_timeout=REDIS_TIMEOUT_S) if redis_url else None
        )
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._listeners: list[Listener] = []

    def listen(self, listener: Listener) -> None:
        """Call `listener(change)` for every change, this instance's included (synchronously, so it
        must be quick: drop a cache, set a flag)."""
        self._listeners.append(listener)

    async def start(self) -> None:
        """Subscribe (awaited: once this returns, no later notice is missed) and start reading."""
        if self._redis is None or self._reader is not None:
            return
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(self._channel)
        self._reader = asyncio.create_task(self._read(self._pubsub), name="change-feed")

    async def publish(self, change: Change) -> None:
        """Apply `change` here at once, then tell the other instances. A Redis failure is logged, not
        raised: the change is committed already, and the others' caches expire on their own."""
        change = Change(change.scope, change.action, change.id, self.origin)
        self._deliver(change)
        if self._redis is None:
            return
        try:
            await asyncio.wait_for(self._redis.publish(self._channel, change.encode()), REDIS_TIMEOUT_S)
        except (RedisError, OSError, TimeoutError) as error:
            log.warning("could not announce a %s change over Redis: %s", change.scope, error)

    async def aclose(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.aclose()
            self._pubsub = None
        if self._redis is not None:
            await self._redis.aclose()

    def _deliver(self, change: Change) -> None:
        for listener in self._listeners:
            try:
                listener(change)
            except Exception:  # one broken listener must not keep the others stale
                log.exception("a change listener failed on %s", change)

    async def _read(self, pubsub: PubSub) -> None:
        lost = False
        while True:
            try:
                message = await pubsub.get_message(timeout=1.0)
                if lost:  # re-subscribed (redis-py does it on reconnect): notices may be missing
                    lost = False
                    log.info("change feed: Redis is back; dropping every cache once")
                    for scope in SCOPES:
                        self._deliver(Change(scope, "resync", origin=self.origin))
            except (RedisError, OSError) as error:
                if not lost:
                    log.warning("change feed: lost the Redis subscription (%s); retrying", error)
                lost = True
                await asyncio.sleep(RESUBSCRIBE_DELAY_S)
                continue
            if message is None or message.get("type") != "message":
                continue
            change = Change.decode(message["data"])
            if change is None:
                log.warning("change feed: skipped a message this version does not understand")
            elif change.origin != self.origin:
                self._deliver(change)


async def announce(redis_url: str | None, prefix: str, change: Change) -> None:
    """Publish one change from a process that does not serve (the CLI); nothing without Redis."""
    if not redis_url:
        return
    feed = ChangeFeed(redis_url, prefix)
    try:
        await feed.publish(change)
    finally:
        await feed.aclose()
