"""Serving Anthropic Messages on Gemini web, through the web chat surface's own path.

Gemini web takes one prompt, not a structured conversation, and has no function calling; the web
chat surface already flattens an OpenAI message list into that prompt, offers tools through its
prompt protocol (`providers/gemini_web/tools.py`) and continues known conversations. So a Messages
body is restated as that message list (`openai_messages`, a shape change only) and planned by
`webchat.service.plan_turn`; the answer's canonical events go through the same Anthropic
translator as on Antigravity.

What Gemini web cannot do is refused, not faked: a thinking block carrying a signature (nothing on
the web can verify or honour one) is a 400 naming the field. Our own web answers' thinking blocks
carry an empty signature, so replaying them is fine (they are left out of the prompt).
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from switchyard.errors import InvalidRequest
from switchyard.pool import failover
from switchyard.pool.stream import tokens_of
from switchyard.providers.gemini_web.models import WebModel
from switchyard.providers.gemini_web.prompt import flatten
from switchyard.providers.gemini_web.tools import tool_offer
from switchyard.runtime import Runtime
from switchyard.surfaces.anthropic.protocol import DROPPED_TOOLS_HEADER
from switchyard.surfaces.anthropic.stream import event_stream, record_usage
from switchyard.surfaces.context import RequestContext
from switchyard.surfaces.responses import json_response
from switchyard.surfaces.webchat.common import deliver_media, model_headers, provider
from switchyard.surfaces.webchat.service import plan_turn
from switchyard.translate.anthropic_config import anthropic_tools, openai_tool_choice
from switchyard.translate.fields import wrong_type
from switchyard.translate.gemini_anthropic import AnthropicMessageStream
from switchyard.translate.profile import ModelProfile

PROVIDER = "gemini_web"
CHARS_PER_TOKEN = 4
"""count_tokens on the web is an estimate: the web app has no token counter."""
Event = dict[str, Any]


async def messages(
    runtime: Runtime, ctx: RequestContext, request: Request, body: dict[str, Any], model: WebModel
) -> Response:
    chat_body, headers = openai_chat_body(body)
    plan = await plan_turn(runtime, ctx, chat_body, model)
    state = AnthropicMessageStream.for_request(
        body, model=ModelProfile(id=model.public_id, family="gemini-3")
    )
    web = provider(runtime)
    base_url = str(request.base_url)
    headers.update(model_headers(model))

    def start(account: Any) -> AsyncIterator[Event]:
        return web.stream(account, plan.turn_for(account))

    if not body.get("stream"):
        events = await failover.run_unary(
            runtime.pool,
            ctx,
            model.family,
            lambda account: _collect(start(account)),
            session=plan.session,
            avoid=web.unfit_accounts(model),
        )
        deliver_media(events, runtime, base_url)
        message = state.build_message(events)
        record_usage(ctx, state)
        return json_response(message, headers=headers)
    ctx.stream = True
    first, rest = await failover.open_stream(
        runtime.pool,
        ctx,
        model.family,
        start,
        tokens=tokens_of,
        session=plan.session,
        avoid=web.unfit_accounts(model),
    )

    async def batches() -> AsyncIterator[list[Event]]:
        try:
            async for event in rest:
                deliver_media((event,), runtime, base_url)
                yield [event]
        finally:
            await rest.aclose()  # type: ignore[attr-defined]

    try:
        deliver_media((first,), runtime, base_url)
        return event_stream(runtime, ctx, state, [first], batches(), headers=headers)
    except BaseException:
        await rest.aclose()  # type: ignore[attr-defined]
        raise


def count_tokens(body: dict[str, Any], model: WebModel) -> Response:
    """An estimate (about four characters a token, as the prompt the web app would get)."""
    chat_body, _ = openai_chat_body(body)
    prompt = flatten(chat_body["messages"], offer=tool_offer(chat_body), media={})
    return json_response({"input_tokens": math.ceil(len(prompt.text) / CHARS_PER_TOKEN)})


async def _collect(events: AsyncIterator[Event]) -> list[Event]:
    return [event async for event in events]


def openai_chat_body(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """(the Messages body as the web chat surface's OpenAI-shaped body, response headers)."""
    tools = anthropic_tools(body)
    chat: dict[str, Any] = {"model": body["model"], "messages": _messages(body)}
    if tools.functions:
        chat["tools"] = tools.openai_body()["tools"]
        choice = openai_tool_choice(body)
        if choice is not None:
            chat["tool_choice"] = choice
    headers = {DROPPED_TOOLS_HEADER: ",".join(tools.dropped)} if tools.dropped else {}
    return chat, headers


def _messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    system = body.get("system")
    if isinstance(system, str) and system:
        out.append({"role": "system", "content": system})
    elif isinstance(system, list):
        text = "\n".join(b.get("text", "") for b in system if isinstance(b, dict) and b.get("type") == "text")
        if text:
            out.append({"role": "system", "content": text})
    elif system is not None:
        raise wrong_type("system", "a string or an array of text blocks", system)
    for index, message in enumerate(body["messages"]):
        param = f"messages[{index}]"
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            raise InvalidRequest(f"'{param}' must be a user or assistant message", param=param)
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        if not isinstance(blocks, list):
            raise wrong_type(f"{param}.content", "a string or an array of content blocks", content)
        if message["role"] == "assistant":
            out.append(_assistant(blocks, param))
        else:
            out.extend(_user(blocks, param))
    return out


def _assistant(blocks: list[Any], param: str) -> dict[str, Any]:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for position, block in enumerate(blocks):
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            texts.append(str(block.get("text") or ""))
        elif kind == "tool_use":
            arguments = orjson.dumps(block.get("input") or {}).decode()
            calls.append(
                {
                    "id": block.get("id"),
                    "type": "function",
                    "function": {"name": block.get("name"), "arguments": arguments},
                }
            )
        elif kind in ("thinking", "redacted_thinking"):
            if block.get("signature") or block.get("data"):
                field = "signature" if kind == "thinking" else "data"
                raise InvalidRequest(
                    f"'{param}.content[{position}].{field}': Gemini web cannot verify or replay signed "
                    "thinking; send it to an Antigravity model, or leave the block out",
                    param=f"{param}.content[{position}].{field}",
                )
        else:
            raise InvalidRequest(
                f"Unsupported content block type {kind!r}", param=f"{param}.content[{position}].type"
            )
    message: dict[str, Any] = {"role": "assistant", "content": "\n".join(texts) or None}
    if calls:
        message["tool_calls"] = calls
    return message


def _user(blocks: list[Any], param: str) -> list[dict[str, Any]]:
    """A user turn: its tool results as `tool` messages first, then its text and media."""
    results: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for position, block in enumerate(blocks):
        block_param = f"{param}.content[{position}]"
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "text":
            parts.append({"type": "text", "text": str(block.get("text") or "")})
        elif kind in ("image", "document"):
            parts.append(_media_part(block, block_param))
        elif kind == "tool_result":
            content = block.get("content")
            if isinstance(content, list):
                content = "\n".join(
                    str(b.get("text") or "")
                    for b in content
                    if isinstance(b, dict) and b.get("type") == "text"
                )
            text = str(content or "")
            if block.get("is_error") is True:
                text = f"Error: {text}"
            results.append({"role": "tool", "tool_call_id": block.get("tool_use_id"), "content": text})
        else:
            raise InvalidRequest(f"Unsupported content block type {kind!r}", param=f"{block_param}.type")
    return results + ([{"role": "user", "content": parts}] if parts else [])


def _media_part(block: dict[str, Any], param: str) -> dict[str, Any]:
    source = block.get("source")
    if not isinstance(source, dict):
        raise wrong_type(f"{param}.source", "an object", source)
    kind = source.get("type")
    if kind == "base64":
        url = (
            f"data:{source.get('media_type') or 'application/octet-stream'};base64,{source.get('data') or ''}"
        )
    elif kind == "url":
        url = str(source.get("url") or "")
    elif kind == "text":
        return {"type": "text", "text": str(source.get("data") or "")}
    else:
        raise InvalidRequest(f"Unsupported '{param}.source.type' {kind!r}", param=f"{param}.source.type")
    if block.get("type") == "document" and kind == "base64":
        return {"type": "file", "file": {"file_data": url, "filename": "document.pdf"}}
    return {"type": "image_url", "image_url": {"url": url}}
