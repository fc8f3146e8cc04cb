"""The live parts of a running gateway, built in the app's lifespan and reached through dependencies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from switchyard.config import Settings
from switchyard.metrics import Metrics

if TYPE_CHECKING:
    from switchyard.keys.guard import KeyGuard
    from switchyard.pool.pool import AccountPool
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
    ready: bool = False

    def require_store(self) -> Store:
        if self.store is None:
            raise RuntimeError("the store is not open yet")
        return self.store
