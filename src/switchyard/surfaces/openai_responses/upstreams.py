"""The provider side of a Responses call: the translated request, and how to run it upstream.

Antigravity takes the canonical Gemini request; Gemini web takes the same chat body its chat
surface plans into one web turn (a fresh conversation with the flattened history each time). What
Gemini web cannot honour (`text.format` JSON output, `max_output_tokens`, ...) is a 400 naming the
field, not a silent approximation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from switchyard.errors import InvalidRequest
from switchyard.pool.selection import session_key
from switchyard.providers import UpstreamAccount
from switchyard.providers.antigravity import AntigravityClient
from switchyard.runtime import Runtime
from switchyard.surfaces.context import RequestContext
from switchyard.surfaces.media import fetch_all_media
from switchyard.surfaces.webchat.common import deliver_media, model_headers, resolve_model
from switchyard.surfaces.webchat.common import provider as web_provider
from switchyard.surfaces.webchat.service import plan_turn
from switchyard.translate.profile import ModelProfile
from switchyard.translate.responses_gemini import ChatConversion, to_gemini_request_from_responses

Event = dict[str, Any]
ANTIGRAVITY, GEMINI_WEB = "antigravity", "gemini_web"
WEB_REFUSED = {
    "max_output_tokens": "Gemini web has no output limit to set",
    "temperature": "Gemini web has no sampling settings",
    "top_p": "Gemini web has no sampling settings",
}


@dataclass
class Upstream:
    """One translated request, ready to send on whichever account the pool picks."""

    family: str
    profile: ModelProfile
    start: Callable[[UpstreamAccount], AsyncIterator[list[Event]]]
    unary: Callable[[UpstreamAccount], Awaitable[list[Event]]]
    session: str | None = None
    avoid: Collection[int] = ()
    headers: dict[str, str] = field(default_factory=dict)
    upstream_model: Callable[[], str | None] = lambda: None
    prepare: Callable[[list[Event]], None] = lambda events: None
    """Runs on every batch of events before translation (Gemini web: generated media → URLs)."""


async def antigravity(runtime: Runtime, ctx: RequestContext, conversion: ChatConversion) -> Upstream:
    model: str = conversion.body["model"]
    client: AntigravityClient = runtime.providers[ANTIGRAVITY]
    spec = client.catalogue.resolve(model)
    profile = spec.profile()
    media = await fetch_all_media(runtime, ctx, conversion.body)
    request = to_gemini_request_from_responses(
        conversion, model=profile, resolved_media=media, signatures=runtime.signatures
    )

    async def unary(account: UpstreamAccount) -> list[Event]:
        return [await client.generate(account, model, request)]

    return Upstream(
        family=spec.family,
        profile=profile,
        start=lambda account: client.stream(account, model, request),
        unary=unary,
        session=session_key(request, ctx.key.id if ctx.key else None),
        avoid=client.catalogue.unfit_accounts(model),
        upstream_model=lambda: client.catalogue.resolve(model).upstream_id,
    )


async def gemini_web(
    runtime: Runtime, ctx: RequestContext, conversion: ChatConversion, body: dict[str, Any], base_url: str
) -> Upstream:
    for name, why in WEB_REFUSED.items():
        if body.get(name) is not None:
            raise InvalidRequest(f"'{name}' is not supported on Gemini web: {why}", param=name)
    text = body.get("text")
    kind = (
        text.get("format", {}).get("type")
        if isinstance(text, dict) and isinstance(text.get("format"), dict)
        else None
    )
    if kind not in (None, "text"):
        raise InvalidRequest(
            "'text.format' is not supported on Gemini web: it cannot constrain its answers to JSON",
            param="text.format",
        )
    model = resolve_model(str(body["model"]))
    plan = await plan_turn(runtime, ctx, conversion.body, model)
    provider = web_provider(runtime)

    async def start(account: UpstreamAccount) -> AsyncIterator[list[Event]]:
        async for event in provider.stream(account, plan.turn_for(account)):
            yield [event]

    async def unary(account: UpstreamAccount) -> list[Event]:
        return [event async for event in provider.stream(account, plan.turn_for(account))]

    return Upstream(
        family=model.family,
        profile=ModelProfile(id=model.public_id, family="gemini-3"),
        start=start,
        unary=unary,
        session=plan.session,
        avoid=provider.unfit_accounts(model),
        headers=model_headers(model),
        prepare=lambda events: deliver_media(events, runtime, base_url),
    )
