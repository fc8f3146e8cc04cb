"""The rest of a stream after its first event, holding the account's slot until it is over.

A class rather than an async generator on purpose: a generator that was never started does not
run its `finally` when closed, so a surface that closes the stream before reading it (its first
frame failed to render, the client left) would leak the account's concurrency slot forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from switchyard.shared.accounts import UpstreamAccount

if TYPE_CHECKING:
    from switchyard.pool.pool import AccountPool

log = logging.getLogger("switchyard.pool")
_orphans: set[asyncio.Task[None]] = set()
T = TypeVar("T")


def batch_tokens(batch: list[Any]) -> int:
    """Total tokens of the last event of a batch that carries usage (usage is cumulative)."""
    for event in reversed(batch):
        tokens = tokens_of(event)
        if tokens:
            return tokens
    return 0


def tokens_of(payload: Any) -> int:
    """Total tokens of a canonical (Gemini `GenerateContentResponse`) reply or event; 0 if none."""
    usage = payload.get("usageMetadata") if isinstance(payload, dict) else None
    if not isinstance(usage, dict):
        return 0
    total = usage.get("totalTokenCount")
    if isinstance(total, int):
        return total
    parts = ("promptTokenCount", "candidatesTokenCount", "thoughtsTokenCount")
    return sum(v for v in (usage.get(p) for p in parts) if isinstance(v, int))


async def close_quietly(events: AsyncIterator[Any]) -> None:
    """Close an upstream iterator (and so its HTTP response); a failing close changes nothing."""
    close = getattr(events, "aclose", None)
    if close is not None:
        with contextlib.suppress(Exception):
            await close()


class TrackedStream(Generic[T]):
    """Yields the upstream's remaining items (events, or batches of events); on exhaustion, failure
    or `aclose` it closes the upstream, gives the slot back and counts the stream's tokens for the
    account (once). `tokens` reads the cumulative token count of an item (0 if it has none)."""

    def __init__(
        self,
        pool: AccountPool,
        account: UpstreamAccount,
        family: str,
        first: T,
        events: AsyncIterator[T],
        tokens: Callable[[T], int],
    ) -> None:
        self._pool, self._account, self._family = pool, account, family
        self._events = events
        self._tokens_of = tokens
        self._tokens = tokens(first)
        self._finished = False

    def __aiter__(self) -> TrackedStream[T]:
        return self

    async def __anext__(self) -> T:
        if self._finished:
            raise StopAsyncIteration
        try:
            event = await anext(self._events)
        except BaseException:
            await self.aclose()
            raise
        tokens = self._tokens_of(event)
        if tokens:
            self._tokens = tokens  # usage is cumulative: the last event with usage has the total
        return event

    async def aclose(self) -> None:
        if self._finished:
            return
        self._finished = True
        try:
            await close_quietly(self._events)
        finally:
            self._pool.count_tokens(self._account, self._family, self._tokens)
            await self._pool.release(self._account)

    def __del__(self) -> None:
        if self._finished:
            return
        # Nobody closed us (a bug upstream of here): give the slot back rather than lose it.
        self._finished = True
        with contextlib.suppress(RuntimeError):
            loop = asyncio.get_running_loop()
            task = loop.create_task(self._pool.release(self._account))
            _orphans.add(task)
            task.add_done_callback(_orphans.discard)
            log.warning("a stream of account %s was dropped without being closed", self._account.name)
