"""Server-sent events: keepalive comments while the upstream is silent, and the stream lifecycle.

Proxies in front of the gateway (Cloudflare ~100 s, nginx 60 s) cut connections that stay silent,
and a thinking model can be silent for minutes; an SSE comment line every `interval` keeps the
connection open without disturbing any client (field-notes §6).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TypeVar

T = TypeVar("T")
KEEPALIVE = b": keepalive\n\n"


async def with_keepalive(events: AsyncIterator[T], interval_s: float) -> AsyncIterator[T | None]:
    """Yield the events; yield None whenever `interval_s` passes without one. Closes `events`."""
    pending: asyncio.Future[T] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(events))
            done, _ = await asyncio.wait((pending,), timeout=interval_s)
            if not done:
                yield None
                continue
            finished, pending = pending, None
            try:
                item = finished.result()
            except StopAsyncIteration:
                return
            yield item
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
        close = getattr(events, "aclose", None)
        if close is not None:
            await close()
