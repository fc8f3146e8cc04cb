"""The gateway's HTTP/1.1 connections: uvicorn's httptools protocol plus deadlines and JSON errors.

uvicorn times out only the idle wait *between* requests (`timeout_keep_alive`, armed after a
response), and any byte cancels even that. A connection that opens and sends nothing, or headers
one byte every few seconds, or a body that stops half-way, is held for good (slowloris: issue 17
#10). So, per connection:

- its request headers must be complete within `header_timeout_s` of the connection opening or of
  the request's first byte, and may be at most `MAX_HEADER_BYTES` (httptools sets no limit);
- a request body may pause at most `body_idle_timeout_s` between chunks (a slow upload that keeps
  moving is fine; a paused read, which is the gateway's own back-pressure, does not count);
- a response may wait at most `write_timeout_s` for the client to read (issue 17 #2). A client that
  stops reading fills the socket, the transport pauses writing and the response's next `send`
  awaits; a stream held so keeps its key's and its account's concurrency slots for good. When the
  transport stays paused that long the connection is aborted (not closed: a close waits for the
  unread buffer to drain), the response sees a disconnect and ends, and its slots are freed.

A request too malformed for the parser (a bad `Content-Length`, say) gets a JSON error in the
route's dialect, naming the parser's complaint, instead of uvicorn's plain-text 400.
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from switchyard.config import Settings
from switchyard.errors import InvalidRequest, SwitchyardError
from switchyard.surfaces.render import dialect_for, error_body

MAX_HEADER_BYTES = 64 * 1024
"""Request line and headers together; larger ones get 431 (nginx allows 8–32 KiB)."""


class HeadersTooLarge(SwitchyardError):
    """431: the request line and headers are larger than `MAX_HEADER_BYTES`."""

    status = 431
    openai_type = "invalid_request_error"
    google_status = "INVALID_ARGUMENT"


class GatewayHttpProtocol(HttpToolsProtocol):
    """`HttpToolsProtocol` with the deadlines above; build it with `protocol_for(settings)`."""

    header_timeout_s = 10.0
    body_idle_timeout_s = 30.0
    write_timeout_s = 60.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._awaiting_headers = True
        self._header_bytes = 0
        self._parsed_header_bytes = 0
        self._header_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._write_timer: asyncio.TimerHandle | None = None

    # -- connection events -----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._on_deadline)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._write_timer is None and self.write_timeout_s > 0:
            self._write_timer = self.loop.call_later(self.write_timeout_s, self._on_write_stalled)

    def resume_writing(self) -> None:
        if self._write_timer is not None:
            self._write_timer.cancel()
            self._write_timer = None
        super().resume_writing()

    def data_received(self, data: bytes) -> None:
        awaiting = self._awaiting_headers
        if awaiting:
            self._header_bytes += len(data)
        elif self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = self.loop.call_later(self.body_idle_timeout_s, self._on_body_idle)
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        except httptools.HttpParserError as error:
            self._refuse(InvalidRequest(f"Invalid HTTP request: {error}."))
            return
        # Counted after parsing: one read may hold small headers and megabytes of body behind them,
        # so the bytes read count only while the headers are still incomplete; complete ones are
        # measured by the parser's callbacks (`on_url`, `on_header`).
        if awaiting and (
            (self._awaiting_headers and self._header_bytes > MAX_HEADER_BYTES)
            or self._parsed_header_bytes > MAX_HEADER_BYTES
        ):
            self._refuse(HeadersTooLarge(f"The request headers are larger than {MAX_HEADER_BYTES} bytes."))

    # -- parser callbacks ------------------------------------------------------------------------

    def on_url(self, url: bytes) -> None:
        self._parsed_header_bytes += len(url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._parsed_header_bytes += len(name) + len(value) + 4
        super().on_header(name, value)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._awaiting_headers = True
        self._header_bytes = 0
        self._parsed_header_bytes = 0
        if self._header_timer is None:  # a later request on a kept-alive connection
            self._header_timer = self.loop.call_later(self.header_timeout_s, self._on_deadline)

    def on_headers_complete(self) -> None:
        self._awaiting_headers = False
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().on_headers_complete()
        if self.parser is not None and self.cycle is not None and self.cycle.more_body:
            self._body_timer = self.loop.call_later(self.body_idle_timeout_s, self._on_body_idle)

    def on_message_complete(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        super().on_message_complete()

    # -- deadlines -------------------------------------------------------------------------------

    def _on_deadline(self) -> None:
        self._header_timer = None
        if self._awaiting_headers and not self.transport.is_closing():
            self.logger.info(
                "closed a connection whose request headers took over %.0f s", self.header_timeout_s
            )
            self.transport.close()

    def _on_body_idle(self) -> None:
        self._body_timer = None
        if self.transport.is_closing() or self.cycle is None or not self.cycle.more_body:
            return
        if self.flow.read_paused:  # our own back-pressure, not the client's silence
            self._body_timer = self.loop.call_later(self.body_idle_timeout_s, self._on_body_idle)
            return
        self.logger.info(
            "closed a connection whose request body paused over %.0f s", self.body_idle_timeout_s
        )
        self.transport.close()

    def _on_write_stalled(self) -> None:
        self._write_timer = None
        self.logger.info("aborted a connection whose client read nothing for %.0f s", self.write_timeout_s)
        self.transport.abort()

    def _cancel_timers(self) -> None:
        for timer in (self._header_timer, self._body_timer, self._write_timer):
            if timer is not None:
                timer.cancel()
        self._header_timer = self._body_timer = self._write_timer = None

    def _refuse(self, error: SwitchyardError) -> None:
        """Answer a request the parser cannot read, in its route's dialect, and close."""
        self._cancel_timers()
        path = getattr(self, "url", b"").split(b"?", 1)[0].decode("latin-1")
        body = error_body(error, dialect_for(path))
        head = [f"HTTP/1.1 {error.status} {HTTPStatus(error.status).phrase}\r\n".encode()]
        for name, value in self.server_state.default_headers:
            head.append(name + b": " + value + b"\r\n")
        head.append(b"content-type: application/json\r\ncontent-length: %d\r\n" % len(body))
        head.append(b"connection: close\r\n\r\n")
        self.transport.write(b"".join(head) + body)
        self.transport.close()


def protocol_for(settings: Settings) -> type[GatewayHttpProtocol]:
    """The protocol class with `settings`' deadlines (uvicorn builds one instance per connection)."""
    return type(
        "GatewayHttpProtocol",
        (GatewayHttpProtocol,),
        {
            "header_timeout_s": settings.http_header_timeout_s,
            "body_idle_timeout_s": settings.http_body_idle_timeout_s,
            "write_timeout_s": settings.http_write_timeout_s,
        },
    )


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn options for the gateway: the protocol above and the idle wait between requests."""
    return {"http": protocol_for(settings), "timeout_keep_alive": settings.http_keep_alive_timeout_s}
