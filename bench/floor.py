"""The byte-relay floor: the least a gateway on Switchyard's stack can cost.

Starlette on uvicorn (uvloop + httptools, as `switchyard serve` runs) and one pooled aiohttp
session (built by the Antigravity provider's own `build_upstream`), forwarding each request to the
upstream unchanged: no auth, no translation, no account choice, no usage. Unary answers are read
whole and sent; streams are relayed chunk by chunk as they arrive. Every gateway figure of the
benchmark is also given as "x times this floor".

    python -m bench.floor --port 9100 --upstream http://127.0.0.1:9001

`--client` and `--server` swap the upstream client (the gateway's, httpx as it comes, httpx on
`bench.rawhttp.RawTransport`, aiohttp with default settings, the raw httptools client) and the app
layer (Starlette or a bare ASGI callable), to measure what each costs (`python -m bench.compare`).
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol

import aiohttp
import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bench.rawhttp import RawClient, RawReply, RawTransport
from switchyard.providers.antigravity.transport import build_upstream
from switchyard.tuning import tune_process

HOP_BY_HOP = frozenset(
    {
        b"host",
        b"connection",
        b"keep-alive",
        b"content-length",
        b"transfer-encoding",
        b"te",
        b"trailer",
        b"upgrade",
        b"proxy-authorization",
    }
)
RESPONSE_DROPPED = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})


class Reply(Protocol):
    """The upstream's answer, whatever the client: head known, body not read yet."""

    status: int
    headers: list[tuple[str, str]]

    def chunks(self) -> AsyncIterator[bytes]: ...

    async def read(self) -> bytes: ...

    async def close(self) -> None: ...


class Upstream(Protocol):
    async def send(self, method: str, url: str, headers: list[tuple[bytes, bytes]], body: bytes) -> Reply: ...

    async def aclose(self) -> None: ...


class _HttpxReply:
    def __init__(self, answer: httpx.Response) -> None:
        self.answer = answer
        self.status = answer.status_code
        self.headers = list(answer.headers.items())

    def chunks(self) -> AsyncIterator[bytes]:
        return self.answer.aiter_raw()

    async def read(self) -> bytes:
        return await self.answer.aread()

    async def close(self) -> None:
        await self.answer.aclose()


class HttpxUpstream:
    """httpx as it comes (HTTP/2 enabled, 4,096 connections), or on `bench.rawhttp.RawTransport`."""

    def __init__(self, *, raw: bool = False) -> None:
        self.client = (
            httpx.AsyncClient(transport=RawTransport(), timeout=httpx.Timeout(600.0, connect=20.0))
            if raw
            else httpx.AsyncClient(
                http2=True,
                timeout=httpx.Timeout(600.0, connect=20.0),
                limits=httpx.Limits(max_connections=4096, max_keepalive_connections=256),
            )
        )

    async def send(self, method: str, url: str, headers: list[tuple[bytes, bytes]], body: bytes) -> Reply:
        request = self.client.build_request(method, url, headers=headers, content=body)
        return _HttpxReply(await self.client.send(request, stream=True))

    async def aclose(self) -> None:
        await self.client.aclose()


class _AiohttpReply:
    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.status = answer.status
        self.headers = [(k.lower(), v) for k, v in answer.headers.items()]

    async def chunks(self) -> AsyncIterator[bytes]:
        async for data in self.answer.content.iter_any():
            yield data

    async def read(self) -> bytes:
        data: bytes = await self.answer.read()
        return data

    async def close(self) -> None:
        self.answer.release()


class AiohttpUpstream:
    """aiohttp's client (C HTTP parser): the gateway's session (`build_upstream`), or a plain one."""

    def __init__(self, *, gateway: bool = False) -> None:
        if gateway:
            self.session = build_upstream(None, 600.0).session
            return
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=4096, limit_per_host=0, keepalive_timeout=60),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=20.0, sock_read=600.0),
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept", "Content-Type"),
        )

    async def send(self, method: str, url: str, headers: list[tuple[bytes, bytes]], body: bytes) -> Reply:
        from multidict import CIMultiDict

        pairs = CIMultiDict((k.decode("latin-1"), v.decode("latin-1")) for k, v in headers)
        answer = await self.session.request(method, url, headers=pairs, data=body, allow_redirects=False)
        return _AiohttpReply(answer)

    async def aclose(self) -> None:
        await self.session.close()


class _RawReplyView:
    def __init__(self, reply: RawReply) -> None:
        self.reply = reply
        self.status = reply.status
        self.headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in reply.headers]

    def chunks(self) -> AsyncIterator[bytes]:
        return self.reply.iter_chunks()

    async def read(self) -> bytes:
        return await self.reply.read()

    async def close(self) -> None:
        self.reply.release()


class RawUpstream:
    """`bench/rawhttp.py`: raw asyncio protocol + httptools, keep-alive pool."""

    def __init__(self) -> None:
        self.client = RawClient()

    async def send(self, method: str, url: str, headers: list[tuple[bytes, bytes]], body: bytes) -> Reply:
        return _RawReplyView(await self.client.send(method, url, headers, body))

    async def aclose(self) -> None:
        await self.client.aclose()


CLIENTS: dict[str, Callable[[], Upstream]] = {
    "gateway": lambda: AiohttpUpstream(gateway=True),
    "httpx": HttpxUpstream,
    "httpx-raw": lambda: HttpxUpstream(raw=True),
    "aiohttp": AiohttpUpstream,
    "raw": RawUpstream,
}


def _target(upstream: str, scope: Scope) -> str:
    target = upstream + scope["path"]
    if scope["query_string"]:
        target += "?" + scope["query_string"].decode("latin-1")
    return target


def create_app(upstream: str, *, client: str = "gateway") -> Starlette:
    """The relay as a Starlette app; `upstream` is the base URL requests are forwarded to. `client`
    names the upstream client (`CLIENTS`); by default the gateway's own."""
    upstream = upstream.rstrip("/")
    make = CLIENTS[client]
    clients: list[Upstream] = []

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        clients.append(make())
        try:
            yield
        finally:
            await clients.pop().aclose()

    async def relay(request: Request) -> Response:
        scope = request.scope
        headers = [(name, value) for name, value in scope["headers"] if name not in HOP_BY_HOP]
        answer = await clients[0].send(
            request.method, _target(upstream, scope), headers, await request.body()
        )
        reply_headers = {k: v for k, v in answer.headers if k not in RESPONSE_DROPPED}
        if reply_headers.get("content-type", "").startswith("text/event-stream"):
            return StreamingResponse(
                answer.chunks(),
                status_code=answer.status,
                headers=reply_headers,
                background=BackgroundTask(answer.close),
            )
        try:
            content = await answer.read()
        finally:
            await answer.close()
        return Response(content, status_code=answer.status, headers=reply_headers)

    async def healthz(request: Request) -> Response:
        return Response(b"ok")

    return Starlette(
        routes=[
            Route("/_floor/healthz", healthz, methods=["GET"]),
            Route("/{path:path}", relay, methods=["GET", "POST"]),
        ],
        lifespan=lifespan,
    )


def create_asgi_app(upstream: str, *, client: str = "gateway") -> ASGIApp:
    """The same relay as a bare ASGI callable: no router, no Request/Response objects."""
    upstream = upstream.rstrip("/")
    make = CLIENTS[client]
    clients: list[Upstream] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    clients.append(make())
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await clients.pop().aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["path"] == "/_floor/healthz":
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
            await send({"type": "http.response.body", "body": b"ok"})
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = [(name, value) for name, value in scope["headers"] if name not in HOP_BY_HOP]
        answer = await clients[0].send(scope["method"], _target(upstream, scope), headers, body)
        reply_headers = [
            (k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers if k not in RESPONSE_DROPPED
        ]
        streaming = any(k == b"content-type" and v.startswith(b"text/event-stream") for k, v in reply_headers)
        try:
            if streaming:
                await send({"type": "http.response.start", "status": answer.status, "headers": reply_headers})
                async for data in answer.chunks():
                    await send({"type": "http.response.body", "body": data, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
            else:
                content = await answer.read()
                reply_headers.append((b"content-length", str(len(content)).encode()))
                await send({"type": "http.response.start", "status": answer.status, "headers": reply_headers})
                await send({"type": "http.response.body", "body": content})
        finally:
            await answer.close()

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--client", choices=sorted(CLIENTS), default="gateway", help="upstream client")
    parser.add_argument("--server", choices=("starlette", "asgi"), default="starlette", help="app framework")
    args = parser.parse_args()
    client = args.client
    app = (
        create_asgi_app(args.upstream, client=client)
        if args.server == "asgi"
        else create_app(args.upstream, client=client)
    )
    tune_process()  # the gateway's process settings (`switchyard serve`), so both compare like with like
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
