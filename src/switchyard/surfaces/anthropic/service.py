"""Serving Anthropic Messages on Antigravity: fetch media, translate, call the pool, answer.

As on the OpenAI surface, a stream starts only once the first upstream batch is in and
translated: until then a failing account can hand over to another one and the client gets a
proper HTTP error in Anthropic's shape; afterwards a failure is an `error` event (`stream.py`).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from switchyard.pool import failover
from switchyard.pool.selection import session_key
from switchyard.providers.antigravity import AntigravityClient
from switchyard.runtime import Runtime
from switchyard.surfaces.anthropic.protocol import DROPPED_TOOLS_HEADER
from switchyard.surfaces.anthropic.stream import event_stream, record_usage
from switchyard.surfaces.context import RequestContext
from switchyard.surfaces.media import fetch_urls
from switchyard.surfaces.responses import json_response
from switchyard.surfaces.served import counting_tokens
from switchyard.translate import tool_name_map
from switchyard.translate.anthropic_config import anthropic_tools
from switchyard.translate.anthropic_gemini import media_urls_of, to_gemini_request_from_anthropic
from switchyard.translate.gemini_anthropic import AnthropicMessageStream

PROVIDER = "antigravity"


def _client(runtime: Runtime) -> AntigravityClient:
    client: AntigravityClient = runtime.providers[PROVIDER]
    return client


async def _translate(
    runtime: Runtime, ctx: RequestContext, body: dict[str, Any]
) -> tuple[dict[str, Any], AnthropicMessageStream, dict[str, str]]:
    """(the canonical request, the answer's translator state, response headers)."""
    client = _client(runtime)
    profile = client.catalogue.resolve(body["model"]).profile()
    media = await fetch_urls(runtime, ctx, media_urls_of(body))
    tools = anthropic_tools(body)
    request = to_gemini_request_from_anthropic(
        body, model=profile, resolved_media=media, signatures=runtime.signatures, tools=tools
    )
    state = AnthropicMessageStream.for_request(
        body, model=profile, tool_names=tool_name_map(tools.openai_body()), signatures=runtime.signatures
    )
    headers = {DROPPED_TOOLS_HEADER: ",".join(tools.dropped)} if tools.dropped else {}
    return request, state, headers


async def messages(runtime: Runtime, ctx: RequestContext, body: dict[str, Any]) -> Response:
    """Answer one Messages request (already parsed and admitted)."""
    model: str = body["model"]
    client = _client(runtime)
    family = client.catalogue.resolve(model).family
    request, state, headers = await _translate(runtime, ctx, body)
    del body["messages"]  # the translated request holds everything sent from here on
    session = session_key(request, ctx.key.id if ctx.key else None)
    avoid = client.catalogue.unfit_accounts(model)
    if not body.get("stream"):
        answer = await failover.run_unary(
            runtime.pool,
            ctx,
            family,
            lambda account: client.generate(account, model, request),
            session=session,
            avoid=avoid,
        )
        ctx.upstream_model = client.catalogue.resolve(model).upstream_id
        message = state.build_message((answer,))
        record_usage(ctx, state)
        return json_response(message, headers=headers)
    ctx.stream = True
    first, rest = await failover.open_stream(
        runtime.pool,
        ctx,
        family,
        lambda account: client.stream(account, model, request),
        tokens=counting_tokens(ctx),
        session=session,
        avoid=avoid,
    )
    ctx.upstream_model = client.catalogue.resolve(model).upstream_id
    try:
        return event_stream(runtime, ctx, state, first, rest, headers=headers)
    except BaseException:
        await rest.aclose()  # type: ignore[attr-defined]
        raise


async def count_tokens(runtime: Runtime, ctx: RequestContext, body: dict[str, Any]) -> Response:
    """`{"input_tokens": N}` from the upstream's own countTokens on the translated request."""
    model: str = body["model"]
    client = _client(runtime)
    request, _, _ = await _translate(runtime, ctx, body)
    answer = await failover.run_unary(
        runtime.pool,
        ctx,
        client.catalogue.resolve(model).family,
        lambda account: client.count_tokens(account, model, request),
    )
    return json_response({"input_tokens": int(answer.get("totalTokens") or 0)})
