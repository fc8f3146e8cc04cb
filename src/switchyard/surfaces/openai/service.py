"""Serving OpenAI chat completions on Antigravity: fetch media, translate, call the pool, answer.

One translator state (`OpenAIChatStream`) serves both modes. Streams: the first upstream event is
awaited and translated before the response starts, so a failure up to there can still move to
another account and reach the client as a proper HTTP error; after it, each event's frames are
written as they arrive, and any failure — a dropped connection, a stream that ends without a finish
reason or with nothing but thoughts — becomes an error event, never a clean stop, and never a
`[DONE]` after it (field-notes 5). Keepalive comments cover silent thinking (field-notes 6).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio
from starlette.responses import Response

from switchyard.errors import STREAM_CUT, InternalError, SwitchyardError
from switchyard.pool import failover
from switchyard.pool.selection import session_key
from switchyard.providers.antigravity import AntigravityClient
from switchyard.runtime import Runtime
from switchyard.surfaces.context import RequestContext
from switchyard.surfaces.media import fetch_all_media
from switchyard.surfaces.openai.images import Ratio, crop_event_images
from switchyard.surfaces.render import error_body
from switchyard.surfaces.responses import json_response
from switchyard.surfaces.served import counting_tokens
from switchyard.surfaces.sse import EventStream
from switchyard.translate import (
    OpenAIChatStream,
    image_crop_ratio,
    to_gemini_request,
)
from switchyard.translate.openai_gemini import signature_keys

PROVIDER = "antigravity"
SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}
"""`x-accel-buffering: no` stops nginx from holding frames back until its buffer fills."""

log = logging.getLogger(__name__)
Event = dict[str, Any]


async def chat(runtime: Runtime, ctx: RequestContext, body: dict[str, Any]) -> Response:
    """Answer one chat completion request (already parsed and admitted)."""
    model: str = body["model"]
    client: AntigravityClient = runtime.providers[PROVIDER]
    spec = client.catalogue.resolve(model)
    profile = spec.profile()
    media = await fetch_all_media(runtime, ctx, body)
    call_ids, reasoning = signature_keys(body)
    await runtime.signatures.recall(tool_call_ids=call_ids, thinking_texts=reasoning)
    request = to_gemini_request(body, model=profile, resolved_media=media, signatures=runtime.signatures)
    call = _Call(
        runtime=runtime,
        ctx=ctx,
        model=model,
        family=spec.family,
        request=request,
        state=OpenAIChatStream.for_request(body, model=profile, signatures=runtime.signatures),
        crop=image_crop_ratio(body, model=profile),
    )
    # The translated request holds all that is sent from here on; the messages' data URLs (tens
    # of megabytes, copied into it once) need not stay alive for the whole call.
    del body["messages"]
    if body.get("stream"):
        return await call.stream()
    return await call.complete()


class _Call:
    """One translated request on its way upstream, and the translator state for its answer."""

    def __init__(
        self,
        *,
        runtime: Runtime,
        ctx: RequestContext,
        model: str,
        family: str,
        request: dict[str, Any],
        state: OpenAIChatStream,
        crop: Ratio | None,
    ) -> None:
        self.runtime, self.ctx, self.model, self.family = runtime, ctx, model, family
        self.request, self.state, self.crop = request, state, crop
        self.client: AntigravityClient = runtime.providers[PROVIDER]
        self.session = session_key(request, ctx.key.id if ctx.key else None)
        """Keeps a conversation on one account while it is healthy (warm upstream prompt cache)."""

    async def complete(self) -> Response:
        answer = await failover.run_unary(
            self.runtime.pool,
            self.ctx,
            self.family,
            lambda account: self.client.generate(account, self.model, self.request),
            session=self.session,
            avoid=self.client.catalogue.unfit_accounts(self.model),
        )
        self.ctx.upstream_model = self.client.catalogue.resolve(self.model).upstream_id
        if self.crop is not None:
            await crop_event_images(answer, self.crop)
        completion = self.state.build_completion((answer,))
        await self.runtime.signatures.save()
        self._record_usage()
        return json_response(completion)

    async def stream(self) -> Response:
        self.ctx.stream = True
        first, rest = await failover.open_stream(
            self.runtime.pool,
            self.ctx,
            self.family,
            lambda account: self.client.stream(account, self.model, self.request),
            tokens=counting_tokens(self.ctx),
            session=self.session,
            avoid=self.client.catalogue.unfit_accounts(self.model),
        )
        self.ctx.upstream_model = self.client.catalogue.resolve(self.model).upstream_id
        try:
            head = await self._batch_frames(first)
        except BaseException:
            await _close(rest)
            raise
        return EventStream(
            self._sse(head, rest),
            interval_s=self.runtime.settings.keepalive_interval_s,
            media_type="text/event-stream",
            headers=SSE_HEADERS,
            cut_frame=_error_frame(STREAM_CUT),
        )

    async def _batch_frames(self, batch: list[Event]) -> list[bytes]:
        frames: list[bytes] = []
        for event in batch:
            if self.crop is not None:
                await crop_event_images(event, self.crop)
            frames += self.state.feed(event)
        return frames

    async def _sse(self, head: list[bytes], rest: AsyncIterator[list[Event]]) -> AsyncIterator[bytes]:
        """The SSE body. A client that goes away cancels this generator; `finally` then closes the
        upstream stream (shielded, since the cancelled scope would otherwise cancel the cleanup too)."""
        self.runtime.metrics.open_streams.inc()
        try:
            if head:
                yield b"".join(head)
            async for batch in rest:
                # The frames of every event that arrived together go out in one write.
                frames: list[bytes] = []
                try:
                    for event in batch:
                        if self.crop is not None:
                            await crop_event_images(event, self.crop)
                        frames += self.state.feed(event)
                except Exception:
                    if frames:
                        yield b"".join(frames)
                    raise
                if frames:
                    yield b"".join(frames)
            tail = self.state.finish()
            await self.runtime.signatures.save()  # before the last bytes: the next turn may follow at once
            yield b"".join(tail)
        except SwitchyardError as error:
            self.ctx.error_class = str(getattr(error, "error_class", "")) or None
            yield _error_frame(error)
        except Exception:
            log.exception("chat stream failed (request %s)", self.ctx.request_id)
            yield _error_frame(
                InternalError(f"Internal error; see the logs under request id {self.ctx.request_id}.")
            )
        finally:
            self._record_usage()
            with anyio.CancelScope(shield=True):
                await _close(rest)
            self.runtime.metrics.open_streams.dec()

    def _record_usage(self) -> None:
        """Usage for the key's quota and the usage log, also for a stream that broke part-way."""
        if self.state.usage is None:
            return
        usage = self.state.usage_dict()
        self.ctx.set_usage(
            usage["prompt_tokens"],
            usage["completion_tokens"],
            usage["completion_tokens_details"]["reasoning_tokens"],
        )


def _error_frame(error: SwitchyardError) -> bytes:
    """An OpenAI error object as an SSE event: the SDKs raise it as an `APIError`."""
    return b"data: " + error_body(error, "openai") + b"\n\n"


async def _close(events: AsyncIterator[Any]) -> None:
    close = getattr(events, "aclose", None)
    if close is not None:
        await close()
