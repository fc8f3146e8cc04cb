"""The live parts of a running gateway, built in the app's lifespan and reached through dependencies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from switchyard.config import Settings
from switchyard.metrics import Metrics
from switchyard.translate.signatures import SignatureCache

if TYPE_CHECKING:
    import httpx

    from switchyard.keys.guard import KeyGuard
    from switchyard.pool.pool import AccountPool
    from switchyard.redis_link import RedisLink
    from switchyard.shared.changes import Change, ChangeFeed
    from switchyard.store.db import Store
    from switchyard.usage import UsageRecorder


@dataclass
class Runtime:
    settings: Settings
    metrics: Metrics
    store: Store | None = None
    guard: KeyGuard | None = None
    usage: UsageRecorder | None = None
    pool: AccountPool = None  # type: ignore[assignment]  # set in the lifespan, before any request
    providers: dict[str, Any] = field(default_factory=dict)
    signatures: SignatureCache = field(default_factory=SignatureCache)
    """Thought signatures the OpenAI surface replays for clients that drop them (field-notes 2, 3)."""
    media_client: httpx.AsyncClient | None = None
    """For downloading clients' media URLs (`fetch.create_media_client`); opened in the lifespan."""
    changes: ChangeFeed | None = None
    """Key/account change notices to and from the other instances (`shared/changes.py`)."""
    ready: bool = False
    redis: RedisLink | None = None
    """The Redis link when `SWITCHYARD_REDIS_URL` is set; `redis.up` says whether it answers."""

    def apply_change(self, change: Change) -> None:
        """Drop what a key or account change made stale (the change feed calls this)."""
        if change.scope == "keys" and self.guard is not None:
            self.guard.forget()
        if change.scope == "accounts" and self.pool is not None:
            self.pool.invalidate()

    def require_store(self) -> Store:
        if self.store is None:
            raise RuntimeError("the store is not open yet")
        return self.store
