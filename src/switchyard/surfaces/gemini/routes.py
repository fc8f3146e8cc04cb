"""Gemini-native routes on Antigravity, in both `:method` and `/method` forms, under `/v1beta` and `/v1`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from switchyard.errors import InvalidRequest
from switchyard.surfaces import json_body
from switchyard.surfaces.body import read_body
from switchyard.surfaces.deps import admit, authenticate, runtime_of
from switchyard.surfaces.gemini import service
from switchyard.surfaces.gemini.protocol import to_canonical_request

PREFIX = "/antigravity"
VERSIONS = ("v1beta", "v1")
METHODS = ("generateContent", "streamGenerateContent", "countTokens")


async def _read_json(request: Request, max_bytes: int) -> object:
    raw = await read_body(request, max_bytes)
    if not raw:
        raise InvalidRequest("Invalid JSON payload received: the body is empty.")
    try:
        return json_body.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"Invalid JSON payload received: {exc}.") from None


async def handle(request: Request, method: str) -> Response:
    key = await authenticate(request)
    runtime = runtime_of(request)
    model = request.path_params["model"].removeprefix("models/")
    body = to_canonical_request(await _read_json(request, runtime.settings.max_request_bytes))
    ctx = await admit(request, key, surface="gemini", provider="antigravity", model=model)
    if method == "generateContent":
        return await service.generate(runtime, ctx, model, body)
    if method == "countTokens":
        return await service.count_tokens(runtime, ctx, model, body)
    return await service.stream(runtime, ctx, model, body, sse=service.wants_sse(request))


def _endpoint(method: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return await handle(request, method)

    endpoint.__name__ = method
    return endpoint


def build_routes() -> list[Route]:
    return [
        Route(
            f"{PREFIX}/{version}/models/{{model}}{separator}{method}",
            _endpoint(method),
            methods=["POST"],
            name=f"antigravity_{version}_{method}_{'colon' if separator == ':' else 'slash'}",
        )
        for version in VERSIONS
        for method in METHODS
        for separator in (":", "/")
    ]
