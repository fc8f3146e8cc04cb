"""Model listings. `/v1/models` is shared by the OpenAI and Gemini dialects (api-contract.md):
a client that speaks Google (key in `x-goog-api-key` or `?key=`, or paging parameters) gets
`{"models": [...]}`, an Anthropic client (`anthropic-version` header) Anthropic's
`{"data": [{"type": "model", ...}], "has_more", "first_id", "last_id"}`, everyone else
`{"object": "list", "data": [...]}`. A key limited to some models sees only those."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from switchyard.errors import NotFound
from switchyard.keys.guard import KeyRecord, model_allowed
from switchyard.providers.antigravity import ModelSpec
from switchyard.providers.gemini_web.models import listed_models
from switchyard.runtime import Runtime
from switchyard.surfaces.catalogue import antigravity_specs
from switchyard.surfaces.context import get_context
from switchyard.surfaces.deps import authenticate, runtime_of
from switchyard.surfaces.render import speaks_google
from switchyard.surfaces.responses import json_response

CREATED = 1_764_547_200  # 2025-12-01: a stable `created` for static catalogue entries
GEMINI_METHODS = ["generateContent", "streamGenerateContent", "countTokens"]


def _openai_entry(model_id: str, owner: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": CREATED, "owned_by": owner}


CREATED_AT = "2025-12-01T00:00:00Z"


def _wants_anthropic(request: Request) -> bool:
    return "anthropic-version" in request.headers


def _anthropic_entry(model_id: str, display_name: str) -> dict[str, Any]:
    return {"type": "model", "id": model_id, "display_name": display_name, "created_at": CREATED_AT}


def _anthropic_listing(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "data": entries,
        "has_more": False,
        "first_id": entries[0]["id"] if entries else None,
        "last_id": entries[-1]["id"] if entries else None,
    }


def _google_entry(spec: ModelSpec) -> dict[str, Any]:
    meta = spec.meta
    served_by = "" if spec.public_id == meta.id else f" (served by {meta.id})"
    return {
        "name": f"models/{spec.public_id}",
        "baseModelId": spec.public_id,
        "version": "001",
        "displayName": meta.display_name,
        "description": f"{meta.display_name}, served through Antigravity{served_by}",
        "inputTokenLimit": meta.input_token_limit,
        "outputTokenLimit": meta.max_output_tokens,
        "supportedGenerationMethods": GEMINI_METHODS,
        "thinking": spec.thinking or bool(meta.thinking_levels) or meta.thinking_budget is not None,
    }


def _page(items: list[dict[str, Any]], request: Request) -> dict[str, Any]:
    """Gemini paging: `pageSize` (default 50, max 1000) and an opaque `pageToken` (an offset)."""
    try:
        size = max(1, min(1000, int(request.query_params.get("pageSize", "50"))))
        offset = int(request.query_params.get("pageToken") or 0)
    except ValueError:
        size, offset = 50, 0
    page: dict[str, Any] = {"models": items[offset : offset + size]}
    if offset + size < len(items):
        page["nextPageToken"] = str(offset + size)
    return page


def _antigravity_listing(request: Request, key: KeyRecord, runtime: Runtime, google: bool) -> Response:
    specs = [
        s for s in antigravity_specs(runtime) if model_allowed(key.limits.models, "antigravity", s.public_id)
    ]
    if google:
        return json_response(_page([_google_entry(s) for s in specs], request))
    if _wants_anthropic(request):
        return json_response(
            _anthropic_listing([_anthropic_entry(s.public_id, s.meta.display_name) for s in specs])
        )
    return json_response(
        {"object": "list", "data": [_openai_entry(s.public_id, "antigravity") for s in specs]}
    )


def _antigravity_one(
    model: str, key: KeyRecord, runtime: Runtime, google: bool, anthropic: bool = False
) -> Response:
    name = model.removeprefix("models/")
    for spec in antigravity_specs(runtime):
        if spec.public_id == name and model_allowed(key.limits.models, "antigravity", name):
            if anthropic and not google:
                return json_response(_anthropic_entry(name, spec.meta.display_name))
            return json_response(_google_entry(spec) if google else _openai_entry(name, "antigravity"))
    raise NotFound(
        f"Model '{name}' does not exist or this key may not use it.",
        param="model",
        code="model_not_found",
    )


async def _listing_key(request: Request, provider: str) -> KeyRecord:
    key = await authenticate(request)
    ctx = get_context(request.scope)
    ctx.surface, ctx.provider = "models", provider
    return key


def _google_dialect(request: Request) -> bool:
    return speaks_google(dict(request.headers), request.url.query)


async def list_v1(request: Request) -> Response:
    key = await _listing_key(request, "antigravity")
    return _antigravity_listing(request, key, runtime_of(request), _google_dialect(request))


async def list_v1beta(request: Request) -> Response:
    key = await _listing_key(request, "antigravity")
    return _antigravity_listing(request, key, runtime_of(request), True)


async def get_v1(request: Request) -> Response:
    key = await _listing_key(request, "antigravity")
    model = request.path_params["model"]
    return _antigravity_one(
        model, key, runtime_of(request), _google_dialect(request), _wants_anthropic(request)
    )


async def get_v1beta(request: Request) -> Response:
    key = await _listing_key(request, "antigravity")
    return _antigravity_one(request.path_params["model"], key, runtime_of(request), True)


async def list_web(request: Request) -> Response:
    key = await _listing_key(request, "gemini_web")
    ids = [m for m in listed_models() if model_allowed(key.limits.models, "gemini_web", m)]
    if _wants_anthropic(request):
        return json_response(_anthropic_listing([_anthropic_entry(m, m) for m in ids]))
    return json_response({"object": "list", "data": [_openai_entry(m, "gemini-web") for m in ids]})


async def get_web(request: Request) -> Response:
    key = await _listing_key(request, "gemini_web")
    model = request.path_params["model"]
    if model in listed_models() and model_allowed(key.limits.models, "gemini_web", model):
        if _wants_anthropic(request):
            return json_response(_anthropic_entry(model, model))
        return json_response(_openai_entry(model, "gemini-web"))
    raise NotFound(
        f"Model '{model}' does not exist or this key may not use it.",
        param="model",
        code="model_not_found",
    )


def build_routes() -> list[Route]:
    return [
        Route("/antigravity/v1/models", list_v1, methods=["GET"]),
        Route("/antigravity/v1beta/models", list_v1beta, methods=["GET"]),
        Route("/antigravity/v1/models/{model}", get_v1, methods=["GET"]),
        Route("/antigravity/v1beta/models/{model}", get_v1beta, methods=["GET"]),
        Route("/gemini_official/v1/models", list_web, methods=["GET"]),
        Route("/gemini_official/v1/models/{model}", get_web, methods=["GET"]),
    ]
