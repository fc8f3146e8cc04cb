"""Serving Gemini-native requests on Antigravity: pick an account, call, stream each event on.

Streams: the first upstream event is awaited before the response starts, so a failure before it
can still move to another account and reach the client as a proper HTTP error; after it, each
event is written as it arrives, and a failure becomes an error event in the stream.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from switchyard.errors import STREAM_CUT, SwitchyardError
from switchyard.pool import failover
from switchyard.pool.selection import session_key
from switchyard.pool.stream import close_quietly
from switchyard.providers.antigravity import AntigravityClient
from switchyard.runtime import Runtime
from switchyard.surfaces.context import RequestContext
from switchyard.surfaces.gemini.protocol import usage_of
from switchyard.surfaces.render import error_body
from switchyard.surfaces.responses import json_response
from switchyard.surfaces.served import counting_tokens
from switchyard.surfaces.sse import KEEPALIVE, EventStream
from switchyard.translate.gemini_native import fit_native_request
from switchyard.translate.gemini_native_answer import NativeStream, normalize_finish, strip_thoughts
from switchyard.translate.gemini_native_signatures import (
    NativeSignatureRecorder,
    native_call_ids,
    replay_signatures,
)
from switchyard.translate.profile import ModelProfile
from switchyard.translate.signatures import SignatureCache

PROVIDER = "antigravity"
_SSE_PREFIX = b"data: "
_SSE_END = b"\r\n\r\n"
_SSE_SEPARATOR = _SSE_END + _SSE_PREFIX
_ARRAY_SEPARATOR = b",\r\n"


def _session(ctx: RequestContext, request: dict[str, Any]) -> str | None:
    """Turns of one conversation stay on one account while it is healthy (warm prompt cache)."""
    return session_key(request, ctx.key.id if ctx.key else None)


def _client(runtime: Runtime) -> AntigravityClient:
    return runtime.providers[PROVIDER]


async def _fitted(
    runtime: Runtime, model: str, request: dict[str, Any]
) -> tuple[str, ModelProfile, dict[str, Any]]:
    """(pool family, the model's profile, the request fitted for it: ids, bytes, schemas, and the
    signatures its replayed turns lack, from the cache or the store)."""
    spec = _client(runtime).catalogue.resolve(model)
    profile = spec.profile()
    request = fit_native_request(request, model=profile)
    call_ids = native_call_ids(request)
    if call_ids:
        await runtime.signatures.recall(tool_call_ids=call_ids)
        request = replay_signatures(request, profile.family, runtime.signatures)
    return spec.family, profile, request


def _recorder(
    runtime: Runtime, profile: ModelProfile, request: dict[str, Any]
) -> NativeSignatureRecorder | None:
    return NativeSignatureRecorder(profile.family, runtime.signatures) if request.get("tools") else None


def _with_claude_thoughts(profile: ModelProfile, request: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Claude's signed thinking must lead the next tool turn (§12.4), and the public API shows no
    thoughts unless asked: for a Claude request with tools, ask for them anyway, so the signature
    is recorded, and hide them again (True) when the client did not ask."""
    if not profile.is_claude or not request.get("tools"):
        return request, False
    config = request.get("generationConfig") or {}
    thinking = config.get("thinkingConfig") or config.get("thinking_config") or {}
    if (
        thinking.get("includeThoughts")
        or thinking.get("include_thoughts")
        or thinking.get("thinkingBudget") == 0
    ):
        return request, False
    thinking = {**thinking, "includeThoughts": True}
    return {**request, "generationConfig": {**config, "thinkingConfig": thinking}}, True


async def generate(runtime: Runtime, ctx: RequestContext, model: str, request: dict[str, Any]) -> Response:
    client = _client(runtime)
    family, profile, request = await _fitted(runtime, model, request)
    request, hide_thoughts = _with_claude_thoughts(profile, request)
    answer = await failover.run_unary(
        runtime.pool,
        ctx,
        family,
        lambda account: client.generate(account, model, request, show_thoughts=False),
        session=_session(ctx, request),
        avoid=client.catalogue.unfit_accounts(model),
    )
    ctx.upstream_model = client.catalogue.resolve(model).upstream_id
    normalize_finish(answer, claude=profile.is_claude)
    recorder = _recorder(runtime, profile, request)
    if recorder is not None:
        recorder.feed(answer)
        recorder.finish()
        if hide_thoughts:
            strip_thoughts(answer)
        await runtime.signatures.save()
    usage = usage_of(answer)
    if usage:
        ctx.set_usage(*usage)
    return json_response(answer)


async def count_tokens(
    runtime: Runtime, ctx: RequestContext, model: str, request: dict[str, Any]
) -> Response:
    client = _client(runtime)
    family, _, request = await _fitted(runtime, model, request)
    answer = await failover.run_unary(
        runtime.pool, ctx, family, lambda account: client.count_tokens(account, model, request)
    )
    return json_response(answer)


async def stream(
    runtime: Runtime, ctx: RequestContext, model: str, request: dict[str, Any], *, sse: bool
) -> Response:
    client = _client(runtime)
    family, profile, request = await _fitted(runtime, model, request)
    request, hide_thoughts = _with_claude_thoughts(profile, request)
    ctx.stream = True
    first, rest = await failover.open_stream(
        runtime.pool,
        ctx,
        family,
        lambda account: client.stream(account, model, request, show_thoughts=False),
        tokens=counting_tokens(ctx),
        session=_session(ctx, request),
        avoid=client.catalogue.unfit_accounts(model),
    )
    ctx.upstream_model = client.catalogue.resolve(model).upstream_id
    state = NativeStream(
        claude=profile.is_claude, recorder=_recorder(runtime, profile, request), hide_thoughts=hide_thoughts
    )
    return EventStream(
        _sse_body(runtime, ctx, state, first, rest) if sse else _array_body(runtime, ctx, state, first, rest),
        interval_s=runtime.settings.keepalive_interval_s,
        media_type="text/event-stream" if sse else "application/json",
        headers={"cache-control": "no-cache"},
        keepalive=KEEPALIVE if sse else b" ",  # whitespace between array elements keeps it alive
        cut_frame=b"data: " + error_body(STREAM_CUT, "google") + b"\n\n" if sse else None,
    )


Batch = list[dict[str, Any]]


async def _event_batches(
    ctx: RequestContext,
    state: NativeStream,
    first: Batch,
    rest: AsyncIterator[Batch],
    signatures: SignatureCache,
) -> AsyncGenerator[list[bytes], None]:
    """The serialized events, in batches of what has arrived (never empty), as Google's API sends
    them (`NativeStream`), recording usage as it goes by. Always closes `rest`, also when closed
    before reading past `first`."""
    usage = None

    def serialize(batch: Batch) -> list[bytes]:
        nonlocal usage
        for event in reversed(batch):  # usage is cumulative: the batch's last report is enough
            found = usage_of(event)
            if found:
                usage = found
                break
        return [orjson.dumps(event) for event in batch]

    try:
        ready = state.feed(first)
        if ready:
            yield serialize(ready)
        async for batch in rest:
            ready = state.feed(batch)
            if ready:
                yield serialize(ready)
        ready = state.finish()
        if state.recorder is not None:
            await signatures.save()  # before the last event: the next turn may follow at once
        if ready:
            yield serialize(ready)
    finally:
        await close_quietly(rest)
        if usage:
            ctx.set_usage(*usage)


async def _sse_body(
    runtime: Runtime, ctx: RequestContext, state: NativeStream, first: Batch, rest: AsyncIterator[Batch]
) -> AsyncIterator[bytes]:
    """One write per batch: the frames of every event that arrived together, joined."""
    runtime.metrics.open_streams.inc()
    try:
        async with aclosing(_event_batches(ctx, state, first, rest, runtime.signatures)) as batches:
            async for batch in batches:
                yield _SSE_PREFIX + _SSE_SEPARATOR.join(batch) + _SSE_END
    except SwitchyardError as error:
        ctx.error_class = str(getattr(error, "error_class", "")) or None
        yield _SSE_PREFIX + error_body(error, "google") + _SSE_END
    finally:
        runtime.metrics.open_streams.dec()


async def _array_body(
    runtime: Runtime, ctx: RequestContext, state: NativeStream, first: Batch, rest: AsyncIterator[Batch]
) -> AsyncIterator[bytes]:
    """Without `alt=sse` the public API streams one JSON array, an element at a time."""
    runtime.metrics.open_streams.inc()
    separator = b"["
    try:
        async with aclosing(_event_batches(ctx, state, first, rest, runtime.signatures)) as batches:
            async for batch in batches:
                yield separator + _ARRAY_SEPARATOR.join(batch)
                separator = _ARRAY_SEPARATOR
    except SwitchyardError as error:
        ctx.error_class = str(getattr(error, "error_class", "")) or None
        yield separator + error_body(error, "google")
    finally:
        runtime.metrics.open_streams.dec()
    yield b"]"


def wants_sse(request: Request) -> bool:
    return request.query_params.get("alt") == "sse"
