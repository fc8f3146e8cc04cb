"""HTTP plumbing for `v1internal`: pooled clients per proxy, host fallback, reading SSE events.

One `httpx.AsyncClient` (HTTP/2, shared connection pool) serves every account that goes out
directly; each distinct per-account proxy gets its own client, because a proxy is a property of the
connection pool in httpx and operators pin accounts to proxies to keep one IP per account
(field-notes §3.7). Host fallback follows CPA (protocols §1, §7): the next configured base URL is
tried after a transport error, a 429 that is not a spent quota, or a 503 capacity error; every call
starts again from the first host.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Any

import httpcore
import httpx
import orjson
from httpcore._async.interfaces import AsyncConnectionInterface
from socksio import ProtocolError as SocksProtocolError

from switchyard.config import Settings
from switchyard.errors import (
    AccountDead,
    StreamInterrupted,
    UpstreamCapacity,
    UpstreamError,
    UpstreamRateLimited,
    UpstreamTransient,
)

from .errors import classify_error
from .protocol import unwrap_response
from .sse import SSEDecoder

log = logging.getLogger(__name__)

PROXY_SCHEMES = ("http://", "https://", "socks5://", "socks5h://")
CONNECT_TIMEOUT_S = 20.0


class HttpClients:
    """Lazily built, cached `httpx.AsyncClient`s keyed by proxy URL (None = direct)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._clients: dict[str | None, httpx.AsyncClient] = {}

    def get(self, proxy_url: str | None) -> httpx.AsyncClient:
        """The client for `proxy_url`; an unusable proxy URL is the operator's to fix."""
        proxy_url = proxy_url or None
        client = self._clients.get(proxy_url)
        if client is None:
            client = self._build(proxy_url)
            self._clients[proxy_url] = client
        return client

    def _build(self, proxy_url: str | None) -> httpx.AsyncClient:
        if proxy_url is not None and not proxy_url.lower().startswith(PROXY_SCHEMES):
            # The message never repeats the URL: it may carry proxy credentials.
            raise AccountDead(
                "the account's proxy URL is not usable: it must start with http://, https:// or socks5://",
                reason="invalid proxy URL",
            )
        return build_http_client(proxy_url, self._settings.antigravity_request_timeout_s)

    async def aclose(self) -> None:
        """Close every pooled client (the gateway's shutdown)."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()


UPSTREAM_LIMITS = httpx.Limits(max_connections=4096, max_keepalive_connections=256, keepalive_expiry=60)
"""Each open stream holds a connection over HTTP/1.1 (one stream each over HTTP/2, 100 a connection),
so the cap is set by how many streams the gateway should carry at once, not by politeness."""


def build_http_client(proxy_url: str | None, read_timeout_s: float) -> httpx.AsyncClient:
    """The upstream client: HTTP/2, pooled; the direct one on `_LeanConnectionPool`."""
    timeout = httpx.Timeout(read_timeout_s, connect=min(CONNECT_TIMEOUT_S, read_timeout_s))
    transport = None if proxy_url is not None else _LeanTransport(http2=True, limits=UPSTREAM_LIMITS)
    return httpx.AsyncClient(
        http2=True,
        proxy=proxy_url,
        transport=transport,
        timeout=timeout,
        limits=UPSTREAM_LIMITS,
        follow_redirects=False,
    )


class _LeanConnectionPool(httpcore.AsyncConnectionPool):
    """httpcore's pool with its bookkeeping made linear, and idle sockets checked only when used.

    httpcore 1.0's `_assign_requests_to_connections` runs on every request start and end. It asks
    every idle connection whether its socket became readable (a `select` through anyio's attribute
    machinery, per idle connection, per call), and for each idle connection counts *all*
    connections again (quadratic). With 64 requests in flight that was 40 % of the gateway's CPU
    (py-spy; docs/benchmarks.md). Here one pass drops closed connections and keeps at most
    `max_keepalive_connections` idle ones; an idle connection's expiry (time, or the server having
    closed it) is checked when it is about to be reused, newest first, and every connection is
    swept at most once per `SWEEP_INTERVAL_S`, so dead idle sockets do not linger.
    """

    SWEEP_INTERVAL_S = 1.0
    _next_sweep = 0.0

    def _assign_requests_to_connections(self) -> list[AsyncConnectionInterface]:
        closing: list[AsyncConnectionInterface] = []
        kept: list[AsyncConnectionInterface] = []
        now = time.monotonic()
        sweep = now >= self._next_sweep
        if sweep:
            self._next_sweep = now + self.SWEEP_INTERVAL_S
        idle = 0
        for connection in self._connections:
            if connection.is_closed():
                continue
            if connection.is_idle():
                if idle >= self._max_keepalive_connections or (sweep and connection.has_expired()):
                    closing.append(connection)
                    continue
                idle += 1
            kept.append(connection)
        self._connections = kept
        for pool_request in self._requests:
            if pool_request.is_queued():
                chosen = self._connection_for(pool_request.request.url.origin, kept, closing)
                if chosen is not None:
                    pool_request.assign_to_connection(chosen)
        return closing

    def _connection_for(
        self,
        origin: httpcore.Origin,
        kept: list[AsyncConnectionInterface],
        closing: list[AsyncConnectionInterface],
    ) -> AsyncConnectionInterface | None:
        """A live available connection (newest first), a new one, or None (the request waits)."""
        for index in range(len(kept) - 1, -1, -1):
            connection = kept[index]
            if not (connection.can_handle_request(origin) and connection.is_available()):
                continue
            if connection.is_idle() and connection.has_expired():
                del kept[index]
                closing.append(connection)
                continue
            return connection
        if len(kept) >= self._max_connections:
            spare = next((c for c in kept if c.is_idle()), None)
            if spare is None:
                return None
            kept.remove(spare)
            closing.append(spare)
        connection = self.create_connection(origin)
        kept.append(connection)
        return connection


class _LeanTransport(httpx.AsyncHTTPTransport):
    """httpx's transport on `_LeanConnectionPool` (direct connections only; proxies keep httpx's)."""

    def __init__(self, *, http2: bool, limits: httpx.Limits) -> None:
        super().__init__(http2=http2, limits=limits)
        self._pool = _LeanConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=http2,
        )


def moves_to_next_host(error: UpstreamError) -> bool:
    """A per-host condition: rate limited (not a spent quota) or out of capacity (§1, §7)."""
    return isinstance(error, UpstreamRateLimited | UpstreamCapacity)


STREAMED_BODY_BYTES = 256 * 1024
"""Bodies larger than this go out in slices: handing the socket one 20 MB buffer makes the event
loop copy whatever the kernel did not take at once (docs/benchmarks.md, scenario 4)."""
BODY_SLICE_BYTES = 64 * 1024


def _body_stream(body: bytes) -> bytes | AsyncIterator[bytes]:
    if len(body) <= STREAMED_BODY_BYTES:
        return body

    async def slices() -> AsyncIterator[bytes]:
        view = memoryview(body)
        for start in range(0, len(view), BODY_SLICE_BYTES):
            yield view[start : start + BODY_SLICE_BYTES]  # type: ignore[misc]

    return slices()


async def open_on_hosts(
    http: httpx.AsyncClient,
    base_urls: Sequence[str],
    path: str,
    body: bytes,
    headers: dict[str, str],
) -> httpx.Response:
    """POST to the first host that answers 2xx; the response body is not read yet (streaming).

    Raises the classified error of the last host tried, or at once for errors another host would
    not fix (quota, auth, bad request, 403, 404, 5xx).
    """
    if not base_urls:
        raise UpstreamTransient("no Antigravity base URL is configured (SWITCHYARD_ANTIGRAVITY_BASE_URLS)")
    last_error: UpstreamError | None = None
    for base_url in base_urls:
        url = base_url.rstrip("/") + path
        sized = {**headers, "content-length": str(len(body))}  # no chunked encoding for sliced bodies
        request = http.build_request("POST", url, content=_body_stream(body), headers=sized)
        try:
            response = await http.send(request, stream=True)
        except (httpx.TransportError, SocksProtocolError) as exc:  # a SOCKS proxy answering garbage
            log.info("Antigravity host %s failed (%s); trying the next host", base_url, type(exc).__name__)
            last_error = UpstreamTransient(f"Antigravity upstream unreachable ({type(exc).__name__})")
            continue
        if response.status_code < 300:
            return response
        error = await _read_error(response)
        if not moves_to_next_host(error):
            raise error
        log.info("Antigravity host %s answered %s; trying the next host", base_url, error.error_class)
        last_error = error
    assert last_error is not None
    raise last_error


async def _read_error(response: httpx.Response) -> UpstreamError:
    try:
        content = await response.aread()
    except httpx.TransportError:
        content = b""
    finally:
        await response.aclose()
    return classify_error(response.status_code, content, response.headers)


async def read_json(response: httpx.Response) -> Any:
    """The whole (non-stream) body as JSON; a cut or garbled body is a transient failure."""
    try:
        content = await response.aread()
    except httpx.TransportError as exc:
        raise UpstreamTransient(f"Antigravity reply cut short ({type(exc).__name__})") from None
    finally:
        await response.aclose()
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        raise UpstreamTransient("Antigravity sent a reply that is not JSON") from None


def has_finish_reason(event: dict[str, Any]) -> bool:
    """Whether an event ends a candidate: the mark of a stream that finished rather than broke."""
    candidates = event.get("candidates")
    return isinstance(candidates, list) and any(
        isinstance(candidate, dict) and candidate.get("finishReason") for candidate in candidates
    )


def _decode_event(data: bytes, delivered: int) -> dict[str, Any] | None:
    """One event's inner response; an error event raises (classified if nothing was delivered)."""
    try:
        payload = orjson.loads(data)
    except orjson.JSONDecodeError:
        if delivered:
            raise StreamInterrupted("Antigravity stream sent a garbled event") from None
        raise UpstreamTransient("Antigravity stream sent a garbled event") from None
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        code = payload["error"].get("code")
        error = classify_error(code if isinstance(code, int) else 500, data, {})
        if delivered:
            raise StreamInterrupted(
                f"Antigravity stream failed mid-way: {error.message}", reason=error.reason
            )
        raise error
    return unwrap_response(payload)


async def iter_events(response: httpx.Response) -> AsyncGenerator[dict[str, Any], None]:
    """Yield each event's inner `GenerateContentResponse` as it arrives; always closes `response`.

    Before anything was yielded a failure is an ordinary (retryable) upstream error; after, it is
    `StreamInterrupted`, because the client already has part of an answer. A stream that ends
    without any `finishReason` was truncated, not finished (field-notes §3.5).
    """
    decoder = SSEDecoder()
    delivered = 0
    finished = False
    try:
        try:
            async for chunk in response.aiter_bytes():
                for data in decoder.feed(chunk):
                    event = _decode_event(data, delivered)
                    if event is None:
                        continue
                    finished = finished or has_finish_reason(event)
                    delivered += 1
                    yield event
            for data in decoder.finish():
                event = _decode_event(data, delivered)
                if event is not None:
                    finished = finished or has_finish_reason(event)
                    delivered += 1
                    yield event
        except httpx.TransportError as exc:
            if not delivered:
                raise UpstreamTransient(
                    f"Antigravity stream broke before any event ({type(exc).__name__})"
                ) from None
            raise StreamInterrupted(
                f"Antigravity stream broke after {delivered} events ({type(exc).__name__})"
            ) from None
    finally:
        await response.aclose()
    if not delivered:
        raise UpstreamTransient("Antigravity stream ended without any event")
    if not finished:
        raise StreamInterrupted(f"Antigravity stream ended after {delivered} events without a finish reason")
