"""What both providers' Messages services share: the SSE body with Anthropic's ping and error
event, and recording usage from the translator state.

The body is written as events arrive; a failure after the response began can only go into the
stream, so it becomes Anthropic's `error` event (`{"type":"error","error":{...}}`), which the SDKs
raise, and nothing follows it (no `message_stop` that would pass for a clean end, field-notes 5).
While the upstream is silent, `event: ping` every keepalive interval (field-notes 6).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import anyio

from switchyard.errors import STREAM_CUT, InternalError, SwitchyardError
from switchyard.runtime import Runtime
from switchyard.surfaces.context import RequestContext
from switchyard.surfaces.render import error_body
from switchyard.surfaces.sse import EventStream
from switchyard.translate.gemini_anthropic import AnthropicMessageStream

log = logging.getLogger(__name__)
Event = dict[str, Any]
PING = b'event: ping\ndata: {"type": "ping"}\n\n'
SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


def record_usage(ctx: RequestContext, state: AnthropicMessageStream) -> None:
    """Usage for the key's quota and the usage log, also for a stream that broke part-way."""
    if state.usage is None:
        return
    usage = state.usage
    ctx.set_usage(
        int(usage.get("promptTokenCount") or 0),
        int(usage.get("candidatesTokenCount") or 0) + int(usage.get("thoughtsTokenCount") or 0),
        int(usage.get("thoughtsTokenCount") or 0),
    )


def error_frame(error: SwitchyardError) -> bytes:
    return b"event: error\ndata: " + error_body(error, "anthropic") + b"\n\n"


def event_stream(
    runtime: Runtime,
    ctx: RequestContext,
    state: AnthropicMessageStream,
    head: list[Event],
    rest: AsyncIterator[list[Event]],
    *,
    headers: Mapping[str, str] | None = None,
    before_finish: Callable[[], Awaitable[None]] | None = None,
) -> EventStream:
    """The streaming response: `head` (already read and translated here, so failures up to it are
    proper HTTP errors), then the rest of the upstream batches, translated as they come."""
    head_frames = [frame for event in head for frame in state.feed(event)]
    return EventStream(
        _body(runtime, ctx, state, head_frames, rest, before_finish),
        interval_s=runtime.settings.keepalive_interval_s,
        media_type="text/event-stream",
        headers={**SSE_HEADERS, **(headers or {})},
        keepalive=PING,
        cut_frame=error_frame(STREAM_CUT),
    )


async def _body(
    runtime: Runtime,
    ctx: RequestContext,
    state: AnthropicMessageStream,
    head: list[bytes],
    rest: AsyncIterator[list[Event]],
    before_finish: Callable[[], Awaitable[None]] | None,
) -> AsyncIterator[bytes]:
    runtime.metrics.open_streams.inc()
    try:
        if head:
            yield b"".join(head)
        async for batch in rest:
            frames = []
            try:
                for event in batch:
                    frames += state.feed(event)
            except Exception:
                if frames:
                    yield b"".join(frames)
                raise
            if frames:
                yield b"".join(frames)
        closing = state.finish()
        if before_finish is not None:
            await before_finish()
        yield b"".join(closing)
    except SwitchyardError as error:
        ctx.error_class = str(getattr(error, "error_class", "")) or None
        yield error_frame(error)
    except Exception:
        log.exception("messages stream failed (request %s)", ctx.request_id)
        yield error_frame(InternalError(f"Internal error; see the logs under request id {ctx.request_id}."))
    finally:
        record_usage(ctx, state)
        with anyio.CancelScope(shield=True):
            close = getattr(rest, "aclose", None)
            if close is not None:
                await close()
        runtime.metrics.open_streams.dec()
