"""`POST /{provider}/v1/messages` and `/v1/messages/count_tokens` on both providers: parse, admit
the key for the model, hand to the provider's service."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from switchyard.surfaces.anthropic import service, web
from switchyard.surfaces.anthropic.protocol import parse_messages_request
from switchyard.surfaces.body import read_body
from switchyard.surfaces.deps import admit, authenticate, runtime_of
from switchyard.surfaces.webchat.common import resolve_model

SURFACE = "anthropic"


async def antigravity_messages(request: Request) -> Response:
    key = await authenticate(request)
    runtime = runtime_of(request)
    body = parse_messages_request(await read_body(request, runtime.settings.max_request_bytes))
    ctx = await admit(request, key, surface=SURFACE, provider=service.PROVIDER, model=body["model"])
    return await service.messages(runtime, ctx, body)


async def antigravity_count_tokens(request: Request) -> Response:
    key = await authenticate(request)
    runtime = runtime_of(request)
    body = parse_messages_request(
        await read_body(request, runtime.settings.max_request_bytes), count_only=True
    )
    ctx = await admit(request, key, surface=SURFACE, provider=service.PROVIDER, model=body["model"])
    return await service.count_tokens(runtime, ctx, body)


async def web_messages(request: Request) -> Response:
    key = await authenticate(request)
    runtime = runtime_of(request)
    body = parse_messages_request(await read_body(request, runtime.settings.max_request_bytes))
    model = resolve_model(body["model"])
    ctx = await admit(
        request, key, surface=SURFACE, provider=web.PROVIDER, model=model.public_id, model_known=True
    )
    return await web.messages(runtime, ctx, request, body, model)


async def web_count_tokens(request: Request) -> Response:
    key = await authenticate(request)
    runtime = runtime_of(request)
    body = parse_messages_request(
        await read_body(request, runtime.settings.max_request_bytes), count_only=True
    )
    model = resolve_model(body["model"])
    await admit(
        request,
        key,
        surface=SURFACE,
        provider=web.PROVIDER,
        model=model.public_id,
        model_known=True,
        takes_account=False,  # counted here, from the text
    )
    return web.count_tokens(body, model)


def build_routes() -> list[Route]:
    return [
        Route(
            "/antigravity/v1/messages", antigravity_messages, methods=["POST"], name="antigravity:messages"
        ),
        Route("/antigravity/v1/messages/count_tokens", antigravity_count_tokens, methods=["POST"]),
        Route(
            "/gemini_official/v1/messages", web_messages, methods=["POST"], name="gemini_official:messages"
        ),
        Route("/gemini_official/v1/messages/count_tokens", web_count_tokens, methods=["POST"]),
    ]
