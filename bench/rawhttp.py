"""A minimal HTTP/1.1 client on raw asyncio protocols, responses parsed by httptools (C).

Measured as an alternative upstream client for the floor (`python -m bench.floor --client raw`,
docs/benchmarks.md "What would close the gap — measured"). Plain `http://` only, keep-alive pool
per origin, request bodies sent whole, response bodies with `Content-Length`, chunked or
read until the connection closes; reading pauses the socket while more than `HIGH_WATER` bytes wait unread.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from typing import cast
from urllib.parse import urlsplit

import httptools
import httpx

HIGH_WATER = 256 * 1024


class RawReply(asyncio.Protocol):
    """One connection, and the response being read on it (one at a time)."""

    def __init__(self, pool: RawClient, origin: tuple[str, int]) -> None:
        self.pool, self.origin = pool, origin
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.paused = False
        self.complete = False
        self.error: Exception | None = None
        self.closed = False
        self.waiter: asyncio.Future[None] | None = None
        self.head: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # -- asyncio.Protocol --
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:  # pragma: no cover - never asked for
            self._fail(ConnectionError("unexpected upgrade"))
        except httptools.HttpParserError as exc:
            self._fail(ConnectionError(f"bad HTTP response: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.complete and self.head.done() and self._until_close():
            self.complete = True  # a body without length or chunking ends with the connection
            self._wake()
        if not self.complete:
            self._fail(ConnectionError(f"connection lost: {exc!r}"))

    def _until_close(self) -> bool:
        names = {name for name, _ in self.headers}
        return b"content-length" not in names and b"transfer-encoding" not in names

    # -- httptools callbacks --
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        if not self.head.done():
            self.head.set_result(None)

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > HIGH_WATER and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        self.complete = True
        self._wake()

    # -- the caller's side --
    def start(self, raw: bytes) -> None:
        assert self.transport is not None
        self.parser = httptools.HttpResponseParser(self)
        self.status, self.headers, self.complete, self.error = 0, [], False, None
        self.chunks.clear()
        self.buffered = 0
        self.head = asyncio.get_running_loop().create_future()
        self.transport.write(raw)

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        chunks = self.chunks
        while True:
            if chunks:
                data = b"".join(chunks) if len(chunks) > 1 else chunks[0]
                chunks.clear()
                self.buffered = 0
                if self.paused and self.transport is not None:
                    self.paused = False
                    self.transport.resume_reading()
                yield data
                continue
            if self.complete:
                return
            if self.error is not None:
                raise self.error
            self.waiter = asyncio.get_running_loop().create_future()
            await self.waiter

    async def read(self) -> bytes:
        parts = [chunk async for chunk in self.iter_chunks()]
        return b"".join(parts)

    def release(self) -> None:
        """Back to the pool if the response was read to its end on a keep-alive connection."""
        if self.complete and not self.closed and self.parser.should_keep_alive():
            self.pool.idle.setdefault(self.origin, []).append(self)
        elif self.transport is not None and not self.closed:
            self.closed = True
            self.transport.close()

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, error: Exception) -> None:
        self.error = error
        if not self.head.done():
            self.head.set_exception(error)
        self._wake()
        if self.transport is not None:
            self.transport.close()


class RawClient:
    """Keep-alive connections per origin; `send()` returns once the response head has arrived."""

    def __init__(self) -> None:
        self.idle: dict[tuple[str, int], list[RawReply]] = {}

    async def send(self, method: str, url: str, headers: list[tuple[bytes, bytes]], body: bytes) -> RawReply:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port or 80
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        head = [
            f"{method} {target} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {len(body)}\r\n".encode()
        ]
        head += [name + b": " + value + b"\r\n" for name, value in headers]
        head.append(b"\r\n")
        raw = b"".join(head) + body
        origin = (host, port)
        idle = self.idle.get(origin)
        while idle:
            connection = idle.pop()
            if not connection.closed:
                break
        else:
            loop = asyncio.get_running_loop()
            _, connection = await loop.create_connection(lambda: RawReply(self, origin), host, port)
        connection.start(raw)
        await connection.head
        return connection

    async def aclose(self) -> None:
        for connections in self.idle.values():
            for connection in connections:
                if connection.transport is not None:
                    connection.transport.close()
        self.idle.clear()


class _RawStream(httpx.AsyncByteStream):
    def __init__(self, reply: RawReply) -> None:
        self.reply = reply

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.reply.iter_chunks():
            yield chunk

    async def aclose(self) -> None:
        self.reply.release()


SKIPPED = frozenset({b"host", b"content-length", b"transfer-encoding", b"connection"})


class RawTransport(httpx.AsyncBaseTransport):
    """`RawClient` under httpx's client API: what the gateway's call sites would keep using.

    A measuring device, not production code: no TLS, no timeouts, errors not mapped to httpx's."""

    def __init__(self) -> None:
        self.client = RawClient()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        headers = [(k.lower(), v) for k, v in request.headers.raw if k.lower() not in SKIPPED]
        reply = await self.client.send(request.method, str(request.url), headers, body)
        return httpx.Response(
            reply.status,
            headers=reply.headers,
            stream=_RawStream(reply),
            extensions={"http_version": b"HTTP/1.1"},
        )

    async def aclose(self) -> None:
        await self.client.aclose()
