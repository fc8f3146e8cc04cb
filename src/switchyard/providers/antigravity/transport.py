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
from collections.abc import AsyncGenerator, Sequence
from typing import Any

import httpx
import orjson
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
        read_timeout = self._settings.antigravity_request_timeout_s
        return httpx.AsyncClient(
            http2=True,
            proxy=proxy_url,
            timeout=httpx.Timeout(read_timeout, connect=min(CONNECT_TIMEOUT_S, read_timeout)),
            limits=httpx.Limits(max_connections=256, max_keepalive_connections=64, keepalive_expiry=60),
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        """Close every pooled client (the gateway's shutdown)."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()


def moves_to_next_host(error: UpstreamError) -> bool:
    """A per-host condition: rate limited (not a spent quota) or out of capacity (§1, §7)."""
    return isinstance(error, UpstreamRateLimited | UpstreamCapacity)


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
        request = http.build_request("POST", url, content=body, headers=headers)
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
