"""`POST /antigravity/v1/chat/completions`: parse, admit the key for the model, hand to the service."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from switchyard.surfaces.body import read_body
from switchyard.surfaces.deps import admit, authenticate, runtime_of
from switchyard.surfaces.openai import service
from switchyard.surfaces.openai.protocol import parse_chat_request

PATH = "/antigravity/v1/chat/completions"


async def chat_completions(request: Request) -> Response:
    key = await authenticate(request)
    runtime = runtime_of(request)
    body = parse_chat_request(await read_body(request, runtime.settings.max_request_bytes))
    ctx = await admit(request, key, surface="openai", provider=service.PROVIDER, model=body["model"])
    return await service.chat(runtime, ctx, body)


def build_routes() -> list[Route]:
    return [Route(PATH, chat_completions, methods=["POST"], name="antigravity:chat-completions")]
