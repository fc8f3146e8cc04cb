"""SSRF-safe download of client media URLs (the one place translation's inputs touch the network).

A client may put any URL in `image_url`; fetched naively, `http://169.254.169.254/` or
`http://10.0.0.5/admin` would read our own network for them. So, for every hop:

1. only `http`/`https`; known metadata host names are refused outright;
2. we resolve the name ourselves and refuse if *any* address is not public (private, loopback,
   link-local, multicast, reserved, unspecified, CGNAT, IPv6 ULA, IPv4-mapped/NAT64/6to4 forms
   of those), unless the URL's host is listed in `allow_hosts` (exact names or IP literals; an
   entry with a port, `cdn.internal:8443` or `[fd00::1]:8443`, allows only that port);
3. we connect to the vetted address itself, so a second DNS answer cannot swap in another
   (rebinding): the URL's host is replaced by the IP, while the `Host` header and TLS SNI (httpx's
   `sni_hostname` extension, which is also the name the certificate is checked against) keep the
   real name;
4. redirects are followed by hand (at most `MAX_REDIRECTS`), each target vetted like the first;
5. the body is streamed and cut at `max_bytes` (`PayloadTooLarge`); the whole fetch, DNS
   included, has one deadline.

The MIME type comes from the bytes (`translate.media.sniff_mime`), then the Content-Type, then
the URL's extension: a lying Content-Type cannot make a PNG into something else.

Use a client from `create_media_client()`: no proxies from the environment, no cookies kept,
and no idle keep-alive connections, because pooled connections are keyed by the pinned IP and
must not be reused for another host name served from the same address.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import socket
import ssl
from collections.abc import Collection

import httpx

from switchyard.errors import InvalidRequest, PayloadTooLarge
from switchyard.translate.media import (
    GENERIC_MIME_TYPES,
    SNIFF_BYTES,
    Media,
    base_mime,
    mime_from_extension,
    sniff_mime,
)

MAX_REDIRECTS = 5
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata.goog", "metadata", "instance-data"})
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def create_media_client(
    timeout_s: float = 30.0, *, verify: ssl.SSLContext | bool = True
) -> httpx.AsyncClient:
    """The client `fetch_media` expects: HTTP/1.1, no env proxies, no idle connection reuse.

    `verify` may carry an extra trust store (a corporate CA); certificates are still checked
    against the URL's host name, not the pinned address.
    """
    return httpx.AsyncClient(
        timeout=timeout_s,
        verify=verify,
        trust_env=False,
        follow_redirects=False,
        limits=httpx.Limits(max_keepalive_connections=0),
        headers={"User-Agent": "switchyard-media-fetch", "Accept": "*/*"},
    )


def address_refusal(address: IPAddress) -> str | None:
    """Why an address must not be fetched from ('loopback', ...), or None when it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return "IPv4-mapped IPv6"
        embedded = address.sixtofour or (
            ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) if address in _NAT64 else None
        )
        if embedded is not None and address_refusal(embedded) is not None:
            return f"IPv6-embedded {address_refusal(embedded)}"
    for reason, flag in (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("shared (CGNAT)", isinstance(address, ipaddress.IPv4Address) and address in _CGNAT),
        ("reserved", address.is_reserved),
    ):
        if flag:
            return reason
    return None if address.is_global else "non-public"


async def fetch_media(
    url: str,
    *,
    client: httpx.AsyncClient,
    max_bytes: int,
    timeout_s: float,
    allow_hosts: Collection[str],
    param: str | None = None,
) -> Media:
    """Download `url` safely (see the module docstring); `param` names the request field in errors."""
    allowed = frozenset(_allow_entry(entry) for entry in allow_hosts)
    try:
        async with asyncio.timeout(timeout_s):
            return await _fetch(url, client=client, max_bytes=max_bytes, allowed=allowed, param=param)
    except (TimeoutError, httpx.TimeoutException):
        raise InvalidRequest(
            f"Fetching the media URL {url} timed out after {timeout_s:g} s", param=param
        ) from None


async def _fetch(
    url: str, *, client: httpx.AsyncClient, max_bytes: int, allowed: frozenset[AllowEntry], param: str | None
) -> Media:
    current = _parse(url, param=param)
    for _ in range(MAX_REDIRECTS + 1):
        addresses = await _vetted_addresses(current, allowed=allowed, param=param)
        response = await _connect(current, addresses, client=client, param=param)
        try:
            location = response.headers.get("location")
            if response.status_code in _REDIRECT_STATUSES and location:
                current = _parse(str(current.join(location)), param=param)
                continue
            if response.status_code != 200:
                raise InvalidRequest(
                    f"Fetching the media URL {url} failed: HTTP {response.status_code} from {current.host}",
                    param=param,
                )
            data = await _read_capped(response, max_bytes=max_bytes, url=url, param=param)
        finally:
            await response.aclose()
        mime = _media_type(data, response.headers.get("content-type"), current)
        if mime is None:
            raise InvalidRequest(f"Cannot tell the media type of {url}", param=param)
        return Media(mime, base64.b64encode(data).decode("ascii"))
    raise InvalidRequest(
        f"Fetching the media URL {url} needed more than {MAX_REDIRECTS} redirects", param=param
    )


def _parse(url: str, *, param: str | None) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        raise InvalidRequest(f"Invalid media URL {url!r}: {error}", param=param) from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise InvalidRequest(
            f"Refusing to fetch {url!r}: only http(s) URLs with a host are fetched", param=param
        )
    return parsed


AllowEntry = tuple[str, int | None]
"""(normalised host, port); port None allows every port of the host."""


def _allow_entry(entry: str) -> AllowEntry:
    text = entry.strip().lower()
    if text.startswith("["):  # [v6] or [v6]:port
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":")
        return _normalise_host(host), int(port) if port.isdigit() else None
    if text.count(":") == 1:  # name:port or v4:port (a bare IPv6 literal has several colons)
        host, port = text.split(":")
        if port.isdigit():
            return _normalise_host(host), int(port)
    return _normalise_host(text), None


def _is_allowed(url: httpx.URL, host: str, allowed: frozenset[AllowEntry]) -> bool:
    port = url.port or (443 if url.scheme == "https" else 80)
    return (host, None) in allowed or (host, port) in allowed


def _normalise_host(host: str) -> str:
    host = host.strip().lower().rstrip(".").strip("[]")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


async def _vetted_addresses(
    url: httpx.URL, *, allowed: frozenset[AllowEntry], param: str | None
) -> list[str]:
    """The addresses to connect to, after refusing any non-public one for a host not allowed."""
    host = _normalise_host(url.host)
    host_allowed = _is_allowed(url, host, allowed)
    if host in METADATA_HOSTS and not host_allowed:
        raise InvalidRequest(f"Refusing to fetch {url}: {url.host} is a cloud metadata host", param=param)
    try:
        addresses: list[IPAddress] = [ipaddress.ip_address(host)]
    except ValueError:
        addresses = await _resolve(host, url.port or (443 if url.scheme == "https" else 80), param=param)
    if not host_allowed:
        for address in addresses:
            reason = address_refusal(address)
            if reason is not None:
                raise InvalidRequest(
                    f"Refusing to fetch {url}: {url.host} resolves to {address}, a {reason} address"
                    " (an operator can allow the host with SWITCHYARD_MEDIA_ALLOW_HOSTS)",
                    param=param,
                )
    return [str(address) for address in addresses]


async def _resolve(host: str, port: int, *, param: str | None) -> list[IPAddress]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise InvalidRequest(f"Cannot resolve the media URL's host {host!r}", param=param) from None
    found: dict[str, IPAddress] = {}
    for _family, _type, _proto, _name, sockaddr in infos:
        text = str(sockaddr[0]).split("%", 1)[0]  # drop an IPv6 zone id
        found.setdefault(text, ipaddress.ip_address(text))
    if not found:
        raise InvalidRequest(f"Cannot resolve the media URL's host {host!r}", param=param)
    return list(found.values())


async def _connect(
    url: httpx.URL, addresses: list[str], *, client: httpx.AsyncClient, param: str | None
) -> httpx.Response:
    """Send the GET to each vetted address in turn (like a browser's fallback) until one connects."""
    headers = {"Host": url.netloc.decode("ascii")}
    extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
    last_error: httpx.TransportError | None = None
    for address in addresses:
        request = client.build_request(
            "GET", url.copy_with(host=address), headers=headers, extensions=extensions
        )
        try:
            return await client.send(request, stream=True, follow_redirects=False)
        except httpx.TimeoutException:
            raise  # the caller reports the deadline
        except httpx.ConnectError as error:
            last_error = error
        except httpx.TransportError as error:
            raise InvalidRequest(
                f"Fetching the media URL {url} failed: {type(error).__name__}", param=param
            ) from None
    raise InvalidRequest(
        f"Cannot connect to the media URL's host {url.host}: {str(last_error)[:200] or type(last_error).__name__}",
        param=param,
    ) from None


async def _read_capped(response: httpx.Response, *, max_bytes: int, url: str, param: str | None) -> bytearray:
    too_large = PayloadTooLarge(f"The media at {url} is larger than the {max_bytes}-byte limit", param=param)
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > max_bytes:
            raise too_large
    if not body:
        raise InvalidRequest(f"The media URL {url} returned an empty body", param=param)
    return body


def _media_type(data: bytearray, content_type: str | None, url: httpx.URL) -> str | None:
    sniffed = sniff_mime(bytes(data[:SNIFF_BYTES]))
    if sniffed is not None:
        return sniffed
    declared = base_mime(content_type)
    if declared not in GENERIC_MIME_TYPES:
        return declared
    return mime_from_extension(url.path)
