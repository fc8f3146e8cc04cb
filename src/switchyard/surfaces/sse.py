"""Streaming responses: the body written as it is produced, keepalive comments while the upstream
is silent, and the stream ended when the client goes away.

Proxies in front of the gateway (Cloudflare ~100 s, nginx 60 s) cut connections that stay silent,
and a thinking model can be silent for minutes; a comment every `interval` keeps the connection
open without disturbing any client (field-notes §6).

Speed: this is the per-chunk path. The response's own task reads the body — and through it the
upstream — and writes each chunk, with nothing in between: no task switch, no future, no timer
per chunk. One watcher task per stream does the rest: it waits for the client to go away (uvicorn
speaks ASGI 2.3, so a write to a closed connection does not fail) with the keepalive interval as
its timeout, and writes a keepalive when it times out and nothing was written meanwhile.
Starlette's `StreamingResponse` needs a task group and a second task per stream for the same
disconnect check, and a keepalive needs the upstream read in yet another task; this replaces all
three with one (docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

KEEPALIVE = b": keepalive\n\n"


class EventStream(StreamingResponse):
    """A streaming response (status 200) with `keepalive` written whenever `interval_s` passes
    without a write. When the client disconnects, the body is cancelled at its current `await`
    (its `finally` blocks run) and the response ends quietly. Starlette's headers and media type
    handling; its `__call__` replaced (see the module docstring)."""

    def __init__(
        self,
        body: AsyncIterator[bytes],
        *,
        interval_s: float,
        media_type: str,
        headers: Mapping[str, str] | None = None,
        keepalive: bytes = KEEPALIVE,
        cut_frame: bytes | Callable[[], bytes] | None = None,
    ) -> None:
        super().__init__(body, media_type=media_type, headers=headers)
        self.source, self.interval_s, self.keepalive = body, interval_s, keepalive
        self.cut_frame = cut_frame
        """Written when the server cuts the stream (the end of the shutdown grace): an error event
        in the route's dialect, so a client does not take a cut stream for a finished one (a callable
        when the frame depends on the stream's state: the Responses API numbers its events)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        task = asyncio.current_task()
        assert task is not None
        writer = _Writer(send, asyncio.get_running_loop())
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        watcher = asyncio.create_task(self._watch(receive, writer, task))
        try:
            async for chunk in self.source:
                await writer.write(chunk)
            writer.finished = True
            await writer.write(b"", more_body=False)
        except asyncio.CancelledError:
            if not writer.client_gone:
                await self._say_cut(writer)
                raise
            task.uncancel()  # the client went away: the stream is over, nothing failed
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            close = getattr(self.source, "aclose", None)
            if close is not None:
                await close()

    async def _say_cut(self, writer: _Writer) -> None:
        """One last write after the cancellation was delivered (the task may await again)."""
        if self.cut_frame is None or writer.busy:
            return
        frame = self.cut_frame() if callable(self.cut_frame) else self.cut_frame
        with contextlib.suppress(TimeoutError, OSError):
            async with asyncio.timeout(1):
                await writer.write(frame)

    async def _watch(self, receive: Receive, writer: _Writer, task: asyncio.Task[None]) -> None:
        loop = writer.loop
        while True:
            delay = writer.last_write + self.interval_s - loop.time()
            if delay <= 0:
                if not writer.busy:
                    await writer.write(self.keepalive)
                else:
                    writer.last_write = loop.time()  # a write in progress is activity too
                continue
            try:
                async with asyncio.timeout(delay):
                    message = await receive()
            except TimeoutError:
                continue
            if message["type"] == "http.disconnect":
                # After a disconnect every receive() returns at once: watching on would spin the
                # loop (the last write can be awaiting the usage event's XADD when the client goes).
                if not writer.finished:
                    writer.client_gone = True
                    task.cancel()
                return


class _Writer:
    """The response's writes, from the body's task and the watcher's, one at a time."""

    __slots__ = ("_idle", "busy", "client_gone", "finished", "last_write", "loop", "send")

    def __init__(self, send: Send, loop: asyncio.AbstractEventLoop) -> None:
        self.send, self.loop = send, loop
        self.last_write = loop.time()
        self.busy = False
        self.finished = False
        self.client_gone = False
        self._idle: asyncio.Future[None] | None = None

    async def write(self, chunk: bytes, *, more_body: bool = True) -> None:
        while self.busy:  # only when the other side's write waits for a slow client's socket
            if self._idle is None:
                self._idle = self.loop.create_future()
            await self._idle
        self.busy = True
        try:
            await self.send({"type": "http.response.body", "body": chunk, "more_body": more_body})
        finally:
            self.busy = False
            idle, self._idle = self._idle, None
            if idle is not None and not idle.done():
                idle.set_result(None)
        self.last_write = self.loop.time()
