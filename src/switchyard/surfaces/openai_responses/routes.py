"""`/v1/responses` on both providers: parse, admit the key for the model, hand to the service."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from switchyard.surfaces.body import read_body
from switchyard.surfaces.context import get_context
from switchyard.surfaces.deps import admit, authenticate, runtime_of
from switchyard.surfaces.openai_responses import service
from switchyard.surfaces.openai_responses.protocol import parse_responses_request
from switchyard.surfaces.openai_responses.upstreams import ANTIGRAVITY, GEMINI_WEB
from switchyard.surfaces.webchat.common import resolve_model

PREFIXES = {ANTIGRAVITY: "/antigravity/v1", GEMINI_WEB: "/gemini_official/v1"}


def _create(provider: str):  # type: ignore[no-untyped-def]
    async def create(request: Request) -> Response:
        key = await authenticate(request)
        runtime = runtime_of(request)
        body = parse_responses_request(await read_body(request, runtime.settings.max_request_bytes))
        if provider == GEMINI_WEB:
            model = resolve_model(str(body["model"])).public_id
            ctx = await admit(
                request, key, surface="responses", provider=provider, model=model, model_known=True
            )
        else:
            ctx = await admit(request, key, surface="responses", provider=provider, model=body["model"])
        return await service.create(runtime, ctx, body, provider=provider, base_url=str(request.base_url))

    return create


def _stored(provider: str):  # type: ignore[no-untyped-def]
    async def stored(request: Request) -> Response:
        await authenticate(request)
        runtime, ctx = runtime_of(request), get_context(request.scope)
        ctx.surface, ctx.provider = "responses", provider
        response_id = request.path_params["response_id"]
        if request.method == "DELETE":
            return await service.delete(runtime, ctx, response_id, provider=provider)
        return await service.retrieve(runtime, ctx, response_id, provider=provider)

    return stored


def build_routes() -> list[Route]:
    routes = []
    for provider, prefix in PREFIXES.items():
        routes.append(
            Route(f"{prefix}/responses", _create(provider), methods=["POST"], name=f"{provider}:responses")
        )
        routes.append(
            Route(
                f"{prefix}/responses/{{response_id}}",
                _stored(provider),
                methods=["GET", "DELETE"],
                name=f"{provider}:responses-stored",
            )
        )
    return routes
