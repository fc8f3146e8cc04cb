"""`POST /gemini_official/v1/chat/completions`: parse, admit the key for the model, hand to the service."""

from __future__ import annotations

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from switchyard.errors import InvalidRequest
from switchyard.surfaces.deps import ClientKey, RuntimeDep, admit
from switchyard.surfaces.webchat import service
from switchyard.surfaces.webchat.common import PROVIDER, resolve_model

PATH = "/gemini_official/v1/chat/completions"


def parse_chat_request(raw: bytes) -> dict[str, object]:
    """The body as a dict, or the 400 OpenAI would give for it."""
    if not raw.strip():
        raise InvalidRequest("We could not parse the JSON body of your request: the body is empty.")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"We could not parse the JSON body of your request: {exc}.") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    for name, kind, described in (
        ("model", str, "a non-empty string"),
        ("messages", list, "a non-empty array"),
    ):
        value = body.get(name)
        if value is None:
            raise InvalidRequest(
                f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter"
            )
        if not isinstance(value, kind) or not value:
            raise InvalidRequest(
                f"Invalid value for '{name}': expected {described}.", param=name, code="invalid_value"
            )
    if body.get("stream") is not None and not isinstance(body["stream"], bool):
        raise InvalidRequest(
            "Invalid type for 'stream': expected a boolean.", param="stream", code="invalid_type"
        )
    return body


def build_router() -> APIRouter:
    router = APIRouter()

    @router.post(PATH, name="gemini_official:chat-completions")
    async def chat_completions(request: Request, key: ClientKey, runtime: RuntimeDep) -> Response:
        body = parse_chat_request(await request.body())
        model = resolve_model(str(body["model"]))
        ctx = await admit(request, key, surface="openai", provider=PROVIDER, model=model.public_id)
        return await service.chat(runtime, ctx, request, body, model)

    return router
