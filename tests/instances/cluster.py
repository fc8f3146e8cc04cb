"""Several gateways in one test process, sharing one store and one Redis prefix, as several
instances behind a load balancer do (each served by its own uvicorn on its own event loop)."""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
import redis
from pydantic import SecretStr

from switchyard.app import create_app
from switchyard.config import Settings
from tests.servers import serve

REDIS_URL = os.environ.get("SWITCHYARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
ADMIN_KEY = "sy-admin-test-key-for-instances"


def redis_or_skip() -> str:
    """The test Redis URL; skip (fail under CI) when no server answers."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI") == "true":
            raise AssertionError(f"Redis at {REDIS_URL} is required under CI: {exc!r}") from exc
        pytest.skip(f"no Redis at {REDIS_URL}")
    return REDIS_URL


def shared_settings(settings: Settings, **overrides: object) -> Settings:
    """`settings` with a fresh Redis prefix and the admin key every instance shares. The caches'
    TTLs are long, so only a change notice can explain an instance seeing a change quickly."""
    values: dict[str, object] = {
        "redis_url": overrides["redis_url"] if "redis_url" in overrides else redis_or_skip(),
        "redis_prefix": f"sy-test-{uuid.uuid4().hex[:10]}",
        "admin_key": SecretStr(ADMIN_KEY),
        "key_cache_ttl_s": 600.0,
        "accounts_reload_interval_s": 600.0,
    }
    values.update(overrides)
    return settings.model_copy(update=values)


@contextlib.contextmanager
def instances(settings: Settings, count: int) -> Iterator[list[str]]:
    """`count` gateways on `settings` (one store, one Redis prefix); their base URLs."""
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(serve(create_app(settings))) for _ in range(count)]


def admin_headers() -> dict[str, str]:
    return {"authorization": f"Bearer {ADMIN_KEY}"}


def wait_until(check: Callable[[], bool], *, within_s: float = 0.5, every_s: float = 0.005) -> float:
    """Seconds until `check()` held; fails after `within_s` (generous: this is no timing goal)."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > within_s:
            raise AssertionError(f"not true within {within_s} s")
        time.sleep(every_s)
    return time.monotonic() - started
