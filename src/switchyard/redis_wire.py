"""One plain TCP connection to Redis for the link's pipelines, packed and parsed by hiredis in C.

The link's sender (`redis_link`) keeps one pipeline in flight, so one connection carries them
all. redis-py's asyncio pipeline reads each reply through several coroutine calls and response
callbacks: about 13 µs of gateway CPU per command, a fifth of what shared state costs a request
(issue 16, `bench/redis_cost.py`). Here a pipeline is one write of commands packed by
`hiredis.pack_command` and one loop of `hiredis.Reader.gets` over what the socket returns: about
4 µs. redis-py still builds the commands (its `Pipeline` methods fill `command_stack`) and owns
every other connection (probes, lease renewal, script loads, unix sockets and TLS).

Error replies come back as `ResponseError` values in their place, as redis-py's
`execute(raise_on_error=False)` gives them. A broken connection raises `ConnectionError`. A
connection the server closed while it was idle (a Redis restart) is replaced before it is
written to; one that breaks with no reply read yet is replaced and the pipeline sent once more;
one that breaks after a reply arrived is not (Redis ran the commands: sending them again would
count twice), and the pipeline fails.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

import hiredis
from redis.asyncio.connection import parse_url
from redis.exceptions import ConnectionError, ResponseError

READ_SIZE = 1 << 16


def pack(args: Sequence[Any]) -> bytes:
    """One command in the protocol's form (TypeError for an argument it cannot carry: None, bool)."""
    name = args[0]
    if isinstance(name, str) and " " in name:  # "SCRIPT LOAD": one argument per word
        return hiredis.pack_command((*name.split(), *args[1:]))
    return hiredis.pack_command(tuple(args))


def _reader() -> hiredis.Reader:
    return hiredis.Reader(encoding="utf-8", errors="replace", replyError=ResponseError)


class Wire:
    """A connection for pipelines, opened on first use and after any failure."""

    def __init__(self, url: str, *, connect_timeout_s: float) -> None:
        options = parse_url(url)
        self.host = str(options.get("host", "localhost"))
        self.port = int(options.get("port", 6379))
        self._handshake: list[tuple[Any, ...]] = []
        password, username = options.get("password"), options.get("username")
        if password is not None:
            self._handshake.append(("AUTH", username, password) if username else ("AUTH", password))
        if options.get("db"):
            self._handshake.append(("SELECT", int(options["db"])))
        self._connect_timeout_s = connect_timeout_s
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._replies = _reader()
        self._read_any = False
        self._lock = asyncio.Lock()

    @staticmethod
    def usable(url: str) -> bool:
        """Plain TCP URLs (unix sockets and TLS stay with redis-py's own connections)."""
        return url.startswith("redis://")

    async def round_trip(self, commands: Sequence[Sequence[Any]]) -> list[Any]:
        """Send the commands in one write; their replies, in order."""
        return await self.send_packed(b"".join([pack(args) for args in commands]), len(commands))

    async def send_packed(self, data: bytes, count: int) -> list[Any]:
        """Send `count` commands packed by `pack` in one write; their replies, in order. One at a
        time: replies are matched to commands by their order on the connection."""
        async with self._lock:
            if self._reader is not None and self._reader.at_eof():
                self.close()  # closed by the server while idle (Redis restarted): never reused
            for attempt in range(2):
                reused = self._writer is not None
                self._read_any = False
                try:
                    if not reused:
                        await self._connect()
                    return await self._exchange(data, count)
                except (ConnectionError, OSError):
                    self.close()
                    # Sent again only if nothing came back: once a reply has arrived, Redis ran
                    # the commands, and running them twice would count twice.
                    if not reused or attempt or self._read_any:
                        raise
                except BaseException:
                    self.close()  # cut mid-reply (a timeout, a cancellation): the stream's state is unknown
                    raise
            raise AssertionError("unreachable")

    async def _connect(self) -> None:
        async with asyncio.timeout(self._connect_timeout_s):
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        if self._handshake:
            data = b"".join([pack(args) for args in self._handshake])
            for reply in await self._exchange(data, len(self._handshake)):
                if isinstance(reply, ResponseError):
                    raise ConnectionError(f"Redis refused the connection's set-up: {reply}")

    async def _exchange(self, data: bytes, count: int) -> list[Any]:
        reader, writer = self._reader, self._writer
        assert reader is not None and writer is not None
        writer.write(data)
        replies: list[Any] = []
        parser = self._replies
        try:
            while len(replies) < count:
                reply = parser.gets()
                if reply is False:
                    chunk = await reader.read(READ_SIZE)
                    if not chunk:
                        raise ConnectionError("Redis closed the connection")
                    self._read_any = True
                    parser.feed(chunk)
                    continue
                replies.append(reply)
        except hiredis.ProtocolError as exc:
            raise ConnectionError(f"unreadable reply from Redis: {exc}") from exc
        return replies

    def close(self) -> None:
        """Drop the connection (the next round trip opens another)."""
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None
        self._replies = _reader()

    async def aclose(self) -> None:
        """Close the connection and wait until its socket is (before the event loop ends)."""
        writer = self._writer
        self.close()
        if writer is not None:
            with contextlib.suppress(OSError, ConnectionError):
                await writer.wait_closed()
