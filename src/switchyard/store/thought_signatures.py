"""Thought signatures behind `SignatureCache`: the store, and Redis first when configured (issue 13).

Claude and Gemini refuse a replayed tool turn without the signature they issued, and OpenAI
clients drop signatures; memory alone loses them on a restart or on another instance, which breaks
every open agent loop. So each signature learned is also written here, bounded and expiring:
- the store's `thought_signatures` table: rows live `ttl_s`; a sweep (at most once a minute, on a
  write) deletes expired rows and, beyond `max_rows`, those closest to expiry. Writes are behind by
  at most `WRITE_DELAY_S`, gathered into one upsert: a write per request on the request path cost
  the gateway half its throughput on SQLite. Memory (this instance) and Redis (the others) have the
  signature at once; shutdown flushes what is pending;
- Redis (`SWITCHYARD_REDIS_URL`): one key per signature with its TTL, read before the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchyard.config import Settings
from switchyard.store.db import Store
from switchyard.store.tables import ThoughtSignature
from switchyard.translate.signatures import SignatureBacking, SignedThought

SWEEP_INTERVAL_S = 60.0
WRITE_DELAY_S = 0.2
log = logging.getLogger(__name__)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class StoreSignatures:
    """The `thought_signatures` table as a `SignatureBacking`."""

    def __init__(self, store: Store, *, ttl_s: float, max_rows: int) -> None:
        self.store, self.ttl_s, self.max_rows = store, ttl_s, max_rows
        self._swept_at = 0.0
        self._pending: dict[str, SignedThought] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._writing = False

    async def save(self, entries: list[tuple[str, SignedThought]]) -> None:
        """Queue the entries; one task writes what gathered within `WRITE_DELAY_S`."""
        self._pending.update(entries)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_later(), name="signature-writer")

    async def _flush_later(self) -> None:
        await asyncio.sleep(WRITE_DELAY_S)
        self._writing = True
        try:
            await self.flush()
        except Exception:
            log.warning("could not write thought signatures to the store", exc_info=True)
        finally:
            self._writing = False

    async def flush(self) -> None:
        """Write every pending entry now."""
        if not self._pending:
            return
        entries, self._pending = list(self._pending.items()), {}
        await self._write(entries)

    async def aclose(self) -> None:
        """Flush at shutdown, so a restart replays what this instance learned last."""
        flusher = self._flusher
        if flusher is not None and not flusher.done():
            # Cancelled while waiting to write; awaited while writing: a write cut mid-way would
            # lose the entries it took, and its database thread would answer a closed loop.
            if not self._writing:
                flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
        await self.flush()

    async def _write(self, entries: list[tuple[str, SignedThought]]) -> None:
        now = time.time()
        async with self.store.sessions() as session:
            insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
            rows = {
                _hash(key): {
                    "key_hash": _hash(key),
                    "family": thought.family,
                    "signature": thought.signature,
                    "thinking": thought.thinking,
                    "expires_at": now + self.ttl_s,
                }
                for key, thought in entries
            }
            statement = insert(ThoughtSignature).values(list(rows.values()))
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=["key_hash"],
                    set_={
                        "family": statement.excluded.family,
                        "signature": statement.excluded.signature,
                        "thinking": statement.excluded.thinking,
                        "expires_at": statement.excluded.expires_at,
                    },
                )
            )
            if now - self._swept_at >= SWEEP_INTERVAL_S:
                self._swept_at = now
                await self._sweep(session, now)
            await session.commit()

    async def _sweep(self, session: AsyncSession, now: float) -> None:
        await session.execute(delete(ThoughtSignature).where(ThoughtSignature.expires_at <= now))
        count = await session.scalar(select(func.count()).select_from(ThoughtSignature)) or 0
        if count > self.max_rows:
            oldest = (
                select(ThoughtSignature.key_hash)
                .order_by(ThoughtSignature.expires_at)
                .limit(count - self.max_rows)
                .scalar_subquery()
            )
            await session.execute(delete(ThoughtSignature).where(ThoughtSignature.key_hash.in_(oldest)))

    async def load(self, keys: list[str]) -> dict[str, SignedThought]:
        pending = {key: self._pending[key] for key in keys if key in self._pending}
        keys = [key for key in keys if key not in pending]
        if not keys:
            return pending
        by_hash = {_hash(key): key for key in keys}
        async with self.store.sessions() as session:
            rows = (
                await session.scalars(
                    select(ThoughtSignature).where(
                        ThoughtSignature.key_hash.in_(list(by_hash)),
                        ThoughtSignature.expires_at > time.time(),
                    )
                )
            ).all()
        return pending | {
            by_hash[row.key_hash]: SignedThought(row.family, row.signature, row.thinking)  # type: ignore[arg-type]
            for row in rows
        }


class RedisSignatures:
    """Signatures on Redis, one key each (`{prefix}:sig:<sha256>`), expiring with `ttl_s`."""

    def __init__(self, redis: Redis, *, prefix: str, ttl_s: float) -> None:
        self.redis, self.prefix, self.ttl_s = redis, prefix.rstrip(":"), ttl_s

    def _key(self, key: str) -> str:
        return f"{self.prefix}:sig:{_hash(key)}"

    async def save(self, entries: list[tuple[str, SignedThought]]) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for key, thought in entries:
                value = orjson.dumps([thought.family, thought.signature, thought.thinking])
                pipe.set(self._key(key), value, ex=max(1, int(self.ttl_s)))
            await pipe.execute()

    async def load(self, keys: list[str]) -> dict[str, SignedThought]:
        values = await self.redis.mget([self._key(key) for key in keys])
        found: dict[str, SignedThought] = {}
        for key, value in zip(keys, values, strict=True):
            if value is not None:
                family, signature, thinking = orjson.loads(value)
                found[key] = SignedThought(family, signature, thinking)
        return found


class TieredSignatures:
    """Redis first (shared and fast), then the store (survives Redis restarts); writes go to both."""

    def __init__(self, first: SignatureBacking, second: SignatureBacking) -> None:
        self.first, self.second = first, second

    async def save(self, entries: list[tuple[str, SignedThought]]) -> None:
        try:
            await self.first.save(entries)
        except (RedisError, OSError, TimeoutError):  # Redis away: the store still keeps them
            log.info("thought signatures not written to Redis (unreachable); the store has them")
        await self.second.save(entries)

    async def aclose(self) -> None:
        for tier in (self.first, self.second):
            close = getattr(tier, "aclose", None)
            if close is not None:
                await close()

    async def load(self, keys: list[str]) -> dict[str, SignedThought]:
        try:
            found = await self.first.load(keys)
        except (RedisError, OSError, TimeoutError):  # Redis away: read the store alone
            found = {}
        missing = [key for key in keys if key not in found]
        if missing:
            found.update(await self.second.load(missing))
        return found


def open_signature_backing(store: Store, settings: Settings) -> tuple[SignatureBacking, Redis | None]:
    """The backing as configured, and the Redis client to close at shutdown (if any)."""
    backing: SignatureBacking = StoreSignatures(
        store, ttl_s=settings.signature_ttl_s, max_rows=settings.signature_max
    )
    if not settings.redis_url:
        return backing, None
    redis = Redis.from_url(
        settings.redis_url,
        socket_timeout=settings.redis_timeout_s,
        socket_connect_timeout=settings.redis_timeout_s,
    )
    shared = RedisSignatures(redis, prefix=settings.redis_prefix, ttl_s=settings.signature_ttl_s)
    return TieredSignatures(shared, backing), redis
