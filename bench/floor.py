"""The byte-relay floor: the least a gateway on Switchyard's stack can cost.

Starlette on uvicorn (uvloop + httptools, as `switchyard serve` runs) and one pooled `httpx`
client (built by the Antigravity provider's own `build_http_client`), forwarding each request to the
upstream unchanged: no auth, no translation, no account choice, no usage. Unary answers are read
whole and sent; streams are relayed chunk by chunk as they arrive. Every gateway figure of the
benchmark is also given as "x times this floor".

    python -m bench.floor --port 9100 --upstream http://127.0.0.1:9001
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from switchyard.providers.antigravity.transport import build_http_client

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


def create_app(upstream: str, *, lean: bool = True) -> Starlette:
    """The relay as an ASGI app; `upstream` is the base URL requests are forwarded to. `lean` uses
    the gateway's upstream client (httpx on its linear connection pool), else httpx as it comes."""
    upstream = upstream.rstrip("/")
    clients: list[httpx.AsyncClient] = []

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        clients.append(
            build_http_client(None, 600.0)
            if lean
            else httpx.AsyncClient(
                http2=True,
                timeout=httpx.Timeout(600.0, connect=20.0),
                limits=httpx.Limits(max_connections=4096, max_keepalive_connections=256),
            )
        )
        try:
            yield
        finally:
            await clients.pop().aclose()

    async def relay(request: Request) -> Response:
        scope = request.scope
        target = upstream + scope["path"]
        if scope["query_string"]:
            target += "?" + scope["query_string"].decode("latin-1")
        headers = [(name, value) for name, value in scope["headers"] if name not in HOP_BY_HOP]
        client = clients[0]
        outgoing = client.build_request(request.method, target, headers=headers, content=await request.body())
        answer = await client.send(outgoing, stream=True)
        reply_headers = {k: v for k, v in answer.headers.items() if k not in RESPONSE_DROPPED}
        if answer.headers.get("content-type", "").startswith("text/event-stream"):
            return StreamingResponse(
                answer.aiter_raw(),
                status_code=answer.status_code,
                headers=reply_headers,
                background=BackgroundTask(answer.aclose),
            )
        try:
            content = await answer.aread()
        finally:
            await answer.aclose()
        return Response(content, status_code=answer.status_code, headers=reply_headers)

    async def healthz(request: Request) -> Response:
        return Response(b"ok")

    return Starlette(
        routes=[
            Route("/_floor/healthz", healthz, methods=["GET"]),
            Route("/{path:path}", relay, methods=["GET", "POST"]),
        ],
        lifespan=lifespan,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--stock-httpx", action="store_true", help="httpx's own connection pool")
    args = parser.parse_args()
    uvicorn.run(
        create_app(args.upstream, lean=not args.stock_httpx),
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
