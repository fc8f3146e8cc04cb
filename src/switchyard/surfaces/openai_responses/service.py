"""Serving OpenAI Responses: history, translation, the pool, the answer, the store.

As on the chat surfaces, one translator state (`ResponsesStream`) serves both modes, and a stream
starts only once the first upstream events are in: until then a failing account can still hand
over to another and the client gets a proper HTTP error; afterwards a failure is a
`response.failed` event, never a `response.completed` (field-notes 5). Keepalive comments cover
silent thinking (field-notes 6).

`store` (default true) saves the request's items (its history included) with the whole response,
encrypted reasoning included, so `previous_response_id` replays signatures even to a client that
never asked for them. A store failure is logged, never turned into a failed answer.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio
from starlette.responses import Response

from switchyard.errors import STREAM_CUT, InternalError, NotFound, SwitchyardError
from switchyard.pool import failover
from switchyard.pool.stream import close_quietly
from switchyard.runtime import Runtime
from switchyard.store import openai_responses as stored
from switchyard.surfaces.context import RequestContext
from switchyard.surfaces.openai_responses import protocol, upstreams
from switchyard.surfaces.openai_responses.upstreams import Upstream
from switchyard.surfaces.responses import json_response
from switchyard.surfaces.served import counting_tokens
from switchyard.surfaces.sse import EventStream
from switchyard.translate.gemini_responses import ResponsesStream
from switchyard.translate.openai_tools import claude_placeholder_args, tool_name_map
from switchyard.translate.responses_gemini import input_items, to_chat_body

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}
log = logging.getLogger(__name__)
Event = dict[str, Any]


async def create(
    runtime: Runtime, ctx: RequestContext, body: dict[str, Any], *, provider: str, base_url: str
) -> Response:
    """Answer one Responses request (already parsed and admitted)."""
    key_id = ctx.key.id if ctx.key else None
    history: list[dict[str, Any]] = []
    previous = body.get("previous_response_id")
    if previous is not None:
        record = await stored.load(runtime.require_store(), previous, key_id=key_id, provider=provider)
        if record is None:
            raise NotFound(
                f"Previous response with id '{previous}' not found.",
                param="previous_response_id",
                code="previous_response_not_found",
            )
        history = [*record["input"], *record["response"]["output"]]
    conversion = to_chat_body(body, history)
    if provider == upstreams.ANTIGRAVITY:
        upstream = await upstreams.antigravity(runtime, ctx, conversion)
    else:
        upstream = await upstreams.gemini_web(runtime, ctx, conversion, body, base_url)
    state = ResponsesStream(
        model=body["model"],
        family=upstream.profile.family,
        echo=protocol.echo_fields(body),
        custom_tools=conversion.custom_tools,
        namespaces=conversion.namespaces,
        tool_names=tool_name_map(conversion.body),
        placeholder_args=claude_placeholder_args(conversion.body) if upstream.profile.is_claude else {},
        include_encrypted=protocol.wants_encrypted_reasoning(body),
        summaries=protocol.wants_summaries(body),
        signatures=runtime.signatures,
    )
    if conversion.dropped_tools:
        upstream.headers["x-switchyard-dropped-tools"] = ",".join(conversion.dropped_tools)
    items = [*history, *input_items(body)]
    # The translated request holds all that is sent from here on; the chat body (with any data
    # URLs copied into it) need not stay alive for the whole call.
    del conversion
    call = _Call(runtime, ctx, upstream, state, provider, items if body.get("store", True) else None)
    if body.get("stream"):
        return await call.stream()
    return await call.complete()


class _Call:
    """One translated request on its way upstream, its translator state, and what to store."""

    def __init__(
        self,
        runtime: Runtime,
        ctx: RequestContext,
        upstream: Upstream,
        state: ResponsesStream,
        provider: str,
        items: list[dict[str, Any]] | None,
    ) -> None:
        self.runtime, self.ctx, self.upstream, self.state = runtime, ctx, upstream, state
        self.provider, self.items = provider, items

    async def complete(self) -> Response:
        events = await failover.run_unary(
            self.runtime.pool,
            self.ctx,
            self.upstream.family,
            self.upstream.unary,
            session=self.upstream.session,
            avoid=self.upstream.avoid,
        )
        self.ctx.upstream_model = self.upstream.upstream_model()
        self.upstream.prepare(events)
        try:
            response = self.state.build_response(events)
        finally:
            self._record_usage()
        await self._store(response)
        return json_response(response, headers=self.upstream.headers)

    async def stream(self) -> Response:
        self.ctx.stream = True
        first, rest = await failover.open_stream(
            self.runtime.pool,
            self.ctx,
            self.upstream.family,
            self.upstream.start,
            tokens=counting_tokens(self.ctx),
            session=self.upstream.session,
            avoid=self.upstream.avoid,
        )
        self.ctx.upstream_model = self.upstream.upstream_model()
        try:
            head = self.state.start() + self._frames(first)
        except BaseException:
            await close_quietly(rest)
            raise
        return EventStream(
            self._sse(head, rest),
            interval_s=self.runtime.settings.keepalive_interval_s,
            media_type="text/event-stream",
            headers={**SSE_HEADERS, **self.upstream.headers},
            cut_frame=lambda: b"".join(self.state.fail(STREAM_CUT)),
        )

    def _frames(self, batch: list[Event]) -> list[bytes]:
        self.upstream.prepare(batch)
        frames: list[bytes] = []
        for event in batch:
            frames += self.state.feed(event)
        return frames

    async def _sse(self, head: list[bytes], rest: AsyncIterator[list[Event]]) -> AsyncIterator[bytes]:
        """The SSE body; a client that goes away cancels it, and `finally` closes the upstream."""
        self.runtime.metrics.open_streams.inc()
        try:
            yield b"".join(head)
            async for batch in rest:
                frames = self._frames(batch)
                if frames:
                    yield b"".join(frames)
            closing = self.state.finish()
            assert self.state.final is not None
            await self._store(self.state.final)
            yield b"".join(closing)
        except SwitchyardError as error:
            self.ctx.error_class = str(getattr(error, "error_class", "")) or None
            yield b"".join(self.state.fail(error))
        except Exception:
            log.exception("responses stream failed (request %s)", self.ctx.request_id)
            failure = InternalError(f"Internal error; see the logs under request id {self.ctx.request_id}.")
            yield b"".join(self.state.fail(failure))
        finally:
            self._record_usage()
            with anyio.CancelScope(shield=True):
                await close_quietly(rest)
            self.runtime.metrics.open_streams.dec()

    async def _store(self, response: dict[str, Any]) -> None:
        if self.items is None:
            return
        whole = {**response, "output": self.state.output, "include_encrypted": self.state.include_encrypted}
        try:
            await stored.save(
                self.runtime.require_store(),
                self.state.response_id,
                key_id=self.ctx.key.id if self.ctx.key else None,
                provider=self.provider,
                record={"input": self.items, "response": whole},
                ttl_s=self.runtime.settings.responses_store_ttl_s,
                max_rows=self.runtime.settings.responses_store_max_rows,
            )
        except Exception:
            log.exception(
                "could not store response %s (request %s)", self.state.response_id, self.ctx.request_id
            )

    def _record_usage(self) -> None:
        if self.state.usage is None:
            return
        usage = self.state.usage_dict()
        self.ctx.set_usage(
            usage["input_tokens"], usage["output_tokens"], usage["output_tokens_details"]["reasoning_tokens"]
        )


async def retrieve(runtime: Runtime, ctx: RequestContext, response_id: str, *, provider: str) -> Response:
    key_id = ctx.key.id if ctx.key else None
    record = await stored.load(runtime.require_store(), response_id, key_id=key_id, provider=provider)
    if record is None:
        raise NotFound(f"Response with id '{response_id}' not found.", param="response_id")
    response = dict(record["response"])
    include = response.pop("include_encrypted", False)
    if not include:
        response["output"] = [
            {k: v for k, v in item.items() if k != "encrypted_content"} for item in response["output"]
        ]
    return json_response(response)


async def delete(runtime: Runtime, ctx: RequestContext, response_id: str, *, provider: str) -> Response:
    key_id = ctx.key.id if ctx.key else None
    if not await stored.remove(runtime.require_store(), response_id, key_id=key_id, provider=provider):
        raise NotFound(f"Response with id '{response_id}' not found.", param="response_id")
    return json_response({"id": response_id, "object": "response.deleted", "deleted": True})
