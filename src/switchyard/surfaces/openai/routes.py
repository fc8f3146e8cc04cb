"""`POST /antigravity/v1/chat/completions`: parse, admit the key for the model, hand to the service."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from switchyard.surfaces.body import read_body
from switchyard.surfaces.deps import ClientKey, RuntimeDep, admit
from switchyard.surfaces.openai import service
from switchyard.surfaces.openai.protocol import parse_chat_request

PATH = "/antigravity/v1/chat/completions"


def build_router() -> APIRouter:
    router = APIRouter()

    @router.post(PATH, name="antigravity:chat-completions")
    async def chat_completions(request: Request, key: ClientKey, runtime: RuntimeDep) -> Response:
        body = parse_chat_request(await read_body(request, runtime.settings.max_request_bytes))
        ctx = await admit(request, key, surface="openai", provider=service.PROVIDER, model=body["model"])
        return await service.chat(runtime, ctx, body)

    return router
