"""Gemini-native routes on Antigravity, in both `:method` and `/method` forms, under `/v1beta` and `/v1`."""

from __future__ import annotations

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from switchyard.errors import InvalidRequest
from switchyard.surfaces.body import read_body
from switchyard.surfaces.deps import ClientKey, RuntimeDep, admit
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
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"Invalid JSON payload received: {exc}.") from None


def build_router() -> APIRouter:
    router = APIRouter()

    async def handle(
        request: Request, model: str, method: str, key: ClientKey, runtime: RuntimeDep
    ) -> Response:
        model = model.removeprefix("models/")
        body = to_canonical_request(await _read_json(request, runtime.settings.max_request_bytes))
        ctx = await admit(request, key, surface="gemini", provider="antigravity", model=model)
        if method == "generateContent":
            return await service.generate(runtime, ctx, model, body)
        if method == "countTokens":
            return await service.count_tokens(runtime, ctx, model, body)
        return await service.stream(runtime, ctx, model, body, sse=service.wants_sse(request))

    for version in VERSIONS:
        for method in METHODS:
            for separator in (":", "/"):
                path = f"{PREFIX}/{version}/models/{{model}}{separator}{method}"
                form = "colon" if separator == ":" else "slash"
                router.add_api_route(
                    path,
                    _bind(handle, method),
                    methods=["POST"],
                    name=f"{version}_{method}_{form}",
                    operation_id=f"antigravity_{version}_{method}_{form}",
                )
    return router


def _bind(handle, method: str):  # type: ignore[no-untyped-def]
    async def endpoint(request: Request, model: str, key: ClientKey, runtime: RuntimeDep) -> Response:
        return await handle(request, model, method, key, runtime)

    endpoint.__name__ = method
    return endpoint
