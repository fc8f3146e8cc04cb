"""`POST /gemini_official/v1/chat/completions`: parse, admit the key for the model, hand to the service."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from switchyard.surfaces.body import read_body
from switchyard.surfaces.deps import admit, authenticate, runtime_of
from switchyard.surfaces.openai.protocol import parse_chat_request
from switchyard.surfaces.webchat import service
from switchyard.surfaces.webchat.common import PROVIDER, resolve_model

PATH = "/gemini_official/v1/chat/completions"


async def chat_completions(request: Request) -> Response:
    key = await authenticate(request)
    runtime = runtime_of(request)
    body = parse_chat_request(await read_body(request, runtime.settings.max_request_bytes))
    model = resolve_model(str(body["model"]))
    ctx = await admit(
        request, key, surface="openai", provider=PROVIDER, model=model.public_id, model_known=True
    )
    return await service.chat(runtime, ctx, request, body, model)


def build_routes() -> list[Route]:
    return [Route(PATH, chat_completions, methods=["POST"], name="gemini_official:chat-completions")]
