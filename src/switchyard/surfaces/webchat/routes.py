"""`POST /gemini_official/v1/chat/completions`: parse, admit the key for the model, hand to the service."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from switchyard.surfaces.body import read_body
from switchyard.surfaces.deps import ClientKey, RuntimeDep, admit
from switchyard.surfaces.openai.protocol import parse_chat_request
from switchyard.surfaces.webchat import service
from switchyard.surfaces.webchat.common import PROVIDER, resolve_model

PATH = "/gemini_official/v1/chat/completions"


def build_router() -> APIRouter:
    router = APIRouter()

    @router.post(PATH, name="gemini_official:chat-completions")
    async def chat_completions(request: Request, key: ClientKey, runtime: RuntimeDep) -> Response:
        body = parse_chat_request(await read_body(request, runtime.settings.max_request_bytes))
        model = resolve_model(str(body["model"]))
        ctx = await admit(request, key, surface="openai", provider=PROVIDER, model=model.public_id)
        return await service.chat(runtime, ctx, request, body, model)

    return router
