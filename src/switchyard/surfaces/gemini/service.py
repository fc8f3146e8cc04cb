"""Serving Gemini-native requests on Antigravity: pick an account, call, stream each event on.

Streams: the first upstream event is awaited before the response starts, so a failure before it
can still move to another account and reach the client as a proper HTTP error; after it, each
event is written as it arrives, and a failure becomes an error event in the stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from switchyard.errors import SwitchyardError
from switchyard.pool import failover
from switchyard.pool.selection import session_key
from switchyard.providers.antigravity import AntigravityClient, resolve_model
from switchyard.runtime import Runtime
from switchyard.surfaces.context import RequestContext
from switchyard.surfaces.gemini.protocol import usage_of
from switchyard.surfaces.render import error_body
from switchyard.surfaces.responses import json_response
from switchyard.surfaces.sse import KEEPALIVE, with_keepalive

PROVIDER = "antigravity"


def _session(ctx: RequestContext, request: dict[str, Any]) -> str | None:
    """Turns of one conversation stay on one account while it is healthy (warm prompt cache)."""
    return session_key(request, ctx.key.id if ctx.key else None)


def _client(runtime: Runtime) -> AntigravityClient:
    return runtime.providers[PROVIDER]


async def generate(runtime: Runtime, ctx: RequestContext, model: str, request: dict[str, Any]) -> Response:
    client, family = _client(runtime), resolve_model(model).family
    answer = await failover.run_unary(
        runtime.pool,
        ctx,
        family,
        lambda account: client.generate(account, model, request, show_thoughts=False),
        session=_session(ctx, request),
    )
    usage = usage_of(answer)
    if usage:
        ctx.set_usage(*usage)
    return json_response(answer)


async def count_tokens(
    runtime: Runtime, ctx: RequestContext, model: str, request: dict[str, Any]
) -> Response:
    client, family = _client(runtime), resolve_model(model).family
    answer = await failover.run_unary(
        runtime.pool, ctx, family, lambda account: client.count_tokens(account, model, request)
    )
    return json_response(answer)


async def stream(
    runtime: Runtime, ctx: RequestContext, model: str, request: dict[str, Any], *, sse: bool
) -> Response:
    client, family = _client(runtime), resolve_model(model).family
    ctx.stream = True
    first, rest = await failover.open_stream(
        runtime.pool,
        ctx,
        family,
        lambda account: client.stream(account, model, request, show_thoughts=False),
        session=_session(ctx, request),
    )
    body = _sse_body(runtime, ctx, first, rest) if sse else _array_body(runtime, ctx, first, rest)
    media_type = "text/event-stream" if sse else "application/json"
    return StreamingResponse(body, media_type=media_type, headers={"cache-control": "no-cache"})


async def _events(
    runtime: Runtime, ctx: RequestContext, first: dict[str, Any], rest: AsyncIterator[dict[str, Any]]
) -> AsyncIterator[bytes | None]:
    """The serialized events (None for a keepalive), recording usage as it goes by."""
    usage = usage_of(first)
    yield orjson.dumps(first)
    async for event in with_keepalive(rest, runtime.settings.keepalive_interval_s):
        if event is None:
            yield None
            continue
        found = usage_of(event)
        if found:
            usage = found
        yield orjson.dumps(event)
    if usage:
        ctx.set_usage(*usage)


async def _sse_body(
    runtime: Runtime, ctx: RequestContext, first: dict[str, Any], rest: AsyncIterator[dict[str, Any]]
) -> AsyncIterator[bytes]:
    runtime.metrics.open_streams.inc()
    try:
        async for data in _events(runtime, ctx, first, rest):
            yield KEEPALIVE if data is None else b"data: " + data + b"\r\n\r\n"
    except SwitchyardError as error:
        ctx.error_class = str(getattr(error, "error_class", "")) or None
        yield b"data: " + error_body(error, "google") + b"\r\n\r\n"
    finally:
        runtime.metrics.open_streams.dec()


async def _array_body(
    runtime: Runtime, ctx: RequestContext, first: dict[str, Any], rest: AsyncIterator[dict[str, Any]]
) -> AsyncIterator[bytes]:
    """Without `alt=sse` the public API streams one JSON array, an element at a time."""
    runtime.metrics.open_streams.inc()
    separator = b"["
    try:
        async for data in _events(runtime, ctx, first, rest):
            if data is None:
                yield b" "  # whitespace between array elements keeps the connection alive
                continue
            yield separator + data
            separator = b",\r\n"
    except SwitchyardError as error:
        ctx.error_class = str(getattr(error, "error_class", "")) or None
        yield separator + error_body(error, "google")
    finally:
        runtime.metrics.open_streams.dec()
    yield b"]"


def wants_sse(request: Request) -> bool:
    return request.query_params.get("alt") == "sse"
