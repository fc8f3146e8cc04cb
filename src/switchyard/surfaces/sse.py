"""Server-sent events: keepalive comments while the upstream is silent, and the stream lifecycle.

Proxies in front of the gateway (Cloudflare ~100 s, nginx 60 s) cut connections that stay silent,
and a thinking model can be silent for minutes; an SSE comment line every `interval` keeps the
connection open without disturbing any client (field-notes §6).

Speed: this sits on the per-chunk path. Waiting for "the next event or `interval`, whichever comes
first" the obvious way (`asyncio.wait` on a task per event) costs a task, a future and a timer per
event. Instead one pump task per stream reads the upstream into a small buffer, and the consumer
takes what is there without waiting at all; only when the buffer is empty does it wait, on one
future, and a single timer per stream, re-armed lazily, wakes it when `interval` passed without
an event. Taking everything that is buffered at once (`keepalive_batches`) also lets a surface
write several frames with one socket write.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Generic, TypeVar

T = TypeVar("T")
KEEPALIVE = b": keepalive\n\n"
BUFFERED_EVENTS = 32
"""How far the pump may read ahead of a slow client (events), so memory per stream stays bounded."""


class _Channel(Generic[T]):
    """A bounded single-producer, single-consumer buffer between the pump task and the consumer."""

    __slots__ = ("_space", "_waiter", "closed", "error", "items", "last_activity")

    def __init__(self) -> None:
        self.items: deque[T] = deque()
        self.closed = False
        self.error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._space: asyncio.Future[None] | None = None
        self.last_activity = 0.0

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def pump(self, batches: AsyncIterator[list[T]]) -> None:
        loop = asyncio.get_running_loop()
        try:
            async for batch in batches:
                self.items.extend(batch)
                self.last_activity = loop.time()
                self._wake()
                if len(self.items) >= BUFFERED_EVENTS:
                    self._space = loop.create_future()
                    await self._space
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # handed to the consumer, in order, after the events before it
            self.error = exc
        finally:
            self.closed = True
            self._wake()

    def take_all(self) -> list[T]:
        batch = list(self.items)
        self.items.clear()
        space = self._space
        if space is not None and not space.done():
            space.set_result(None)
        return batch

    async def wait(self, interval_s: float) -> bool:
        """Wait for an event or the end; False when `interval_s` passed without either."""
        loop = asyncio.get_running_loop()
        self._waiter = waiter = loop.create_future()
        timer: asyncio.TimerHandle | None = None

        def on_timer() -> None:
            nonlocal timer
            if waiter.done():
                return
            # Re-arm instead of firing when an event arrived after the timer was set.
            due = self.last_activity + interval_s
            if loop.time() < due:
                timer = loop.call_at(due, on_timer)
            else:
                waiter.set_result(None)

        timer = loop.call_at(self.last_activity + interval_s, on_timer)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None
        return bool(self.items) or self.closed


async def keepalive_batches(
    events: AsyncIterator[list[T]], interval_s: float
) -> AsyncGenerator[list[T] | None, None]:
    """Read batches of events from `events`; yield the events in batches of what has arrived by
    the time the consumer asks (never empty, never delayed); yield None whenever `interval_s`
    passes without an event. Re-raises the upstream's error after the events that preceded it.
    Closes `events`."""
    channel: _Channel[T] = _Channel()
    loop = asyncio.get_running_loop()
    channel.last_activity = loop.time()
    pump = loop.create_task(channel.pump(events))
    try:
        while True:
            if channel.items:
                yield channel.take_all()
                continue
            if channel.closed:
                if channel.error is not None:
                    error, channel.error = channel.error, None
                    raise error
                return
            if not await channel.wait(interval_s):
                channel.last_activity = loop.time()
                yield None
    finally:
        if not pump.done():
            pump.cancel()
        with contextlib.suppress(BaseException):
            await pump
        close = getattr(events, "aclose", None)
        if close is not None:
            await close()


async def _singletons(events: AsyncIterator[T]) -> AsyncGenerator[list[T], None]:
    try:
        async for event in events:
            yield [event]
    finally:
        close = getattr(events, "aclose", None)
        if close is not None:
            await close()


async def with_keepalive(events: AsyncIterator[T], interval_s: float) -> AsyncIterator[T | None]:
    """Yield the events, one at a time; yield None whenever `interval_s` passes without one.
    Closes `events`."""
    batches = keepalive_batches(_singletons(events), interval_s)
    try:
        async for batch in batches:
            if batch is None:
                yield None
                continue
            for item in batch:
                yield item
    finally:
        await batches.aclose()
