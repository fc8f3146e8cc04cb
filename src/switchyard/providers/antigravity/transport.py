"""HTTP plumbing for `v1internal`: pooled clients per proxy, host fallback (reading a stream's events
is `events.py`).

Two clients, by how often a call happens. Generation calls (`generateContent`, streams,
`countTokens`, `fetchAvailableModels`) run on every client request, so they go through aiohttp:
its C parser and connector cost a fifth of httpx's CPU per request and a quarter per streamed chunk
(docs/benchmarks.md measures both). Token refreshes and project discovery run once an hour per
account and keep httpx, which the OAuth login flow shares. aiohttp speaks HTTP/1.1 only; Google's
front ends serve `v1internal` over it as the IDE's Node client does.

Each distinct per-account proxy gets its own connection pool, because operators pin accounts to
proxies to keep one IP per account (field-notes §3.7). Host fallback follows CPA (protocols §1,
§7): the next configured base URL is tried after a transport error, a 429 that is not a spent
quota, or a 503 capacity error; every call starts again from the first host. The bare 429 on a
request with a system prompt is the exception: it may be Cloud Code's content filter (§12.6), so
the same host gets the request once more with the prompt cloaked, and a second bare 429 is the
client's `PromptRefused` — another host or account would answer the same.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import ssl
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Generic, Protocol, TypeVar

import aiohttp
import certifi
import httpx
import orjson
import yarl
from aiohttp_socks import ProxyConnector
from python_socks import ProxyError

from switchyard.config import Settings
from switchyard.errors import (
    AccountDead,
    PromptRefused,
    UpstreamCapacity,
    UpstreamError,
    UpstreamRateLimited,
    UpstreamTransient,
)

from .errors import classify_error, is_bare_429

log = logging.getLogger(__name__)

PROXY_SCHEMES = ("http://", "https://", "socks5://", "socks5h://")
CONNECT_TIMEOUT_S = 20.0
MAX_CONNECTIONS = 4096
"""Each open stream holds a connection over HTTP/1.1, so the cap is set by how many streams the
gateway should carry at once, not by politeness (the 257th stream once queued behind 256)."""
KEEPALIVE_S = 4.0
"""How long an idle upstream connection is kept for reuse. A server closes idle connections after
its own timeout (uvicorn 5 s, nginx 75 s); a POST sent on a connection the server is closing at
that moment fails ("Can not write request body"), and aiohttp retries only idempotent methods. So
connections are dropped before the shortest common server timeout, as Node's undici does (4 s).
Under load connections never sit idle that long; when traffic is sparse, a new connection costs
far less than the model's answer takes."""

TRANSPORT_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, OSError, ProxyError)
"""What a failed exchange raises: aiohttp's errors, timeouts, socket errors and a SOCKS proxy's."""


def _check_proxy_url(proxy_url: str | None) -> None:
    if proxy_url is not None and not proxy_url.lower().startswith(PROXY_SCHEMES):
        # The message never repeats the URL: it may carry proxy credentials.
        raise AccountDead(
            "the account's proxy URL is not usable: it must start with http://, https:// or socks5://",
            reason="invalid proxy URL",
        )


class _Pool(Protocol):
    async def aclose(self) -> None: ...


C = TypeVar("C", bound=_Pool)


class PerProxy(Generic[C]):
    """Lazily built clients, one per proxy URL (None = direct): a proxy is a property of a
    connection pool, and operators pin accounts to proxies to keep one IP per account."""

    def __init__(self, build: Callable[[str | None], C]) -> None:
        self._build = build
        self._clients: dict[str | None, C] = {}

    def get(self, proxy_url: str | None) -> C:
        """The client for `proxy_url`; an unusable proxy URL is the operator's to fix."""
        proxy_url = proxy_url or None
        client = self._clients.get(proxy_url)
        if client is None:
            _check_proxy_url(proxy_url)
            client = self._clients[proxy_url] = self._build(proxy_url)
        return client

    async def aclose(self) -> None:
        """Close every pool (the gateway's shutdown)."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()


def http_clients(settings: Settings) -> PerProxy[httpx.AsyncClient]:
    """httpx clients for the rare calls (token refresh, project discovery, quota reads)."""
    timeout_s = settings.antigravity_request_timeout_s
    return PerProxy(
        lambda proxy_url: httpx.AsyncClient(
            http2=True,
            proxy=proxy_url,
            timeout=httpx.Timeout(timeout_s, connect=min(CONNECT_TIMEOUT_S, timeout_s)),
            follow_redirects=False,
        )
    )


def upstreams(settings: Settings) -> PerProxy[Upstream]:
    """aiohttp sessions for the generation calls."""
    return PerProxy(lambda proxy_url: build_upstream(proxy_url, settings.antigravity_request_timeout_s))


class Upstream:
    """One aiohttp session (one connection pool) and the proxy its requests go through."""

    def __init__(self, session: aiohttp.ClientSession, proxy: str | None = None) -> None:
        self.session = session
        self.proxy = proxy
        """An HTTP(S) proxy given per request; SOCKS proxies live in the session's connector."""

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> aiohttp.ClientResponse:
        """Send a POST; the response's body is not read yet."""
        return await self.session.post(
            _url(url), data=_body_stream(body), headers=headers, proxy=self.proxy, allow_redirects=False
        )

    async def aclose(self) -> None:
        await self.session.close()
        # A TLS connection closed early (a stream cut by a read timeout) releases its socket a few
        # loop turns later; wait for that, so a shutdown that ends the loop right after leaks none.
        await asyncio.sleep(0.05)


@functools.lru_cache(maxsize=256)
def _url(url: str) -> yarl.URL:
    """Parsed once: the same few endpoint URLs are posted to on every request."""
    return yarl.URL(url)


def ssl_context() -> ssl.SSLContext:
    """The system's trust store (and `SSL_CERT_FILE`/`SSL_CERT_DIR` if set) plus certifi's bundle,
    so slim images without CA certificates still verify Google."""
    context = ssl.create_default_context()
    if not os.environ.get("SSL_CERT_FILE"):
        context.load_verify_locations(certifi.where())
    return context


def build_upstream(proxy_url: str | None, read_timeout_s: float) -> Upstream:
    """The generation client for `proxy_url` (None = direct); needs a running event loop."""
    context = ssl_context()
    proxy: str | None = None
    connector: aiohttp.BaseConnector
    if proxy_url is not None and proxy_url.lower().startswith("socks5"):
        connector = ProxyConnector.from_url(
            proxy_url,
            rdns=proxy_url.lower().startswith("socks5h"),
            ssl=context,
            limit=MAX_CONNECTIONS,
            limit_per_host=0,
            keepalive_timeout=KEEPALIVE_S,
        )
    else:
        proxy = proxy_url
        connector = aiohttp.TCPConnector(
            ssl=context, limit=MAX_CONNECTIONS, limit_per_host=0, keepalive_timeout=KEEPALIVE_S
        )
    session = aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(
            total=None, sock_connect=min(CONNECT_TIMEOUT_S, read_timeout_s), sock_read=read_timeout_s
        ),
        skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
        # One session serves many accounts: cookies one account's replies set must not ride along
        # on another's requests (and filtering a jar per request costs CPU).
        cookie_jar=aiohttp.DummyCookieJar(),
        trust_env=False,
    )
    return Upstream(session, proxy)


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


UNREACHABLE = "unreachable"
"""The reason of a transport failure (connect, TLS, reset): another host may well answer."""
PROMPT_REFUSED = (
    "Antigravity refused the system prompt: Cloud Code answers some phrases in systemInstruction with "
    'a bare 429 "Resource has been exhausted" (a content filter, not the account\'s quota, which is '
    "fine). The request was retried with the configured sensitive words cloaked and refused again. "
    "Reword or shorten the system prompt, or add the phrase that triggers it to "
    "SWITCHYARD_ANTIGRAVITY_SENSITIVE_WORDS."
)


async def open_on_hosts(
    upstream: Upstream,
    base_urls: Sequence[str],
    path: str,
    body: bytes,
    headers: dict[str, str],
    *,
    cloaked: Callable[[], bytes] | None = None,
) -> aiohttp.ClientResponse:
    """POST to the first host that answers 2xx; the response body is not read yet (streaming).

    Raises the classified error of the last host tried, or at once for errors another host would
    not fix (quota, auth, bad request, 403, 404, 5xx). `cloaked` (given when the request carries a
    system prompt) builds the body with the prompt's sensitive words cloaked: a bare 429 sends it
    to the same host once, and a second bare 429 raises `PromptRefused`.
    """
    if not base_urls:
        raise UpstreamTransient("no Antigravity base URL is configured (SWITCHYARD_ANTIGRAVITY_BASE_URLS)")
    last_error: UpstreamError | None = None
    for base_url in base_urls:
        url = base_url.rstrip("/") + path
        answer = await _post(upstream, url, body, headers)
        if isinstance(answer, aiohttp.ClientResponse):
            return answer
        error = answer
        if cloaked is not None and is_bare_429(error):
            log.info(
                "Antigravity host %s answered a bare 429 to a system prompt; retrying it cloaked", base_url
            )
            body, cloaked = cloaked(), None  # later hosts (after a transport error) get the cloaked body too
            answer = await _post(upstream, url, body, headers)
            if isinstance(answer, aiohttp.ClientResponse):
                return answer
            error = answer
            if is_bare_429(error):
                raise PromptRefused(PROMPT_REFUSED, upstream_status=429, reason="CONTENT_FILTER")
        if not (moves_to_next_host(error) or error.reason == UNREACHABLE):
            raise error
        log.info("Antigravity host %s: %s; trying the next host", base_url, error.reason or error.error_class)
        last_error = error
    assert last_error is not None
    raise last_error


async def _post(
    upstream: Upstream, url: str, body: bytes, headers: dict[str, str]
) -> aiohttp.ClientResponse | UpstreamError:
    """The 2xx response (body unread), or the classified error (a transport failure is transient)."""
    try:
        response = await upstream.post(url, body, _sized(headers, body))
    except TRANSPORT_ERRORS as exc:
        log.info("Antigravity host %s failed (%s: %s)", url, type(exc).__name__, exc)
        return UpstreamTransient(
            f"Antigravity upstream unreachable ({type(exc).__name__})", reason=UNREACHABLE
        )
    if response.status < 300:
        return response
    return await _read_error(response)


def _sized(headers: dict[str, str], body: bytes) -> dict[str, str]:
    return {**headers, "Content-Length": str(len(body))}  # no chunked encoding for sliced bodies


async def _read_error(response: aiohttp.ClientResponse) -> UpstreamError:
    try:
        content = await response.read()
    except TRANSPORT_ERRORS:
        content = b""
    finally:
        response.release()
    return classify_error(response.status, content, response.headers)


async def read_json(response: aiohttp.ClientResponse) -> Any:
    """The whole (non-stream) body as JSON; a cut or garbled body is a transient failure."""
    try:
        content = await response.read()
    except TRANSPORT_ERRORS as exc:
        raise UpstreamTransient(f"Antigravity reply cut short ({type(exc).__name__})") from None
    finally:
        response.release()
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        raise UpstreamTransient("Antigravity sent a reply that is not JSON") from None
