"""Serving OpenAI chat completions on Gemini web.

The request becomes one web turn (`providers/gemini_web/prompt.py`): a continuation of a known web
conversation on its account when the messages extend one (`conversations.py`), else a new
conversation with the flattened history on whichever account the pool picks. The answer is
translated by the same `OpenAIChatStream` the Antigravity surface uses, so both modes share one
translator and its checks (a stream that ends without a finish reason is an error, never a stop).

Streams start only once the first upstream event is in: until then a failing account can still
hand over to another one and the client gets a proper HTTP error; afterwards, failures become an
error event in the stream.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response

from switchyard.errors import STREAM_CUT, InternalError, InvalidRequest, SwitchyardError
from switchyard.pool import failover
from switchyard.pool.stream import tokens_of
from switchyard.providers import UpstreamAccount
from switchyard.providers.gemini_web.client import WebTurn
from switchyard.providers.gemini_web.models import WebModel
from switchyard.providers.gemini_web.prompt import fit
from switchyard.providers.gemini_web.tools import tool_offer
from switchyard.runtime import Runtime
from switchyard.surfaces.context import RequestContext
from switchyard.surfaces.media import fetch_all_media
from switchyard.surfaces.render import error_body
from switchyard.surfaces.responses import json_response
from switchyard.surfaces.sse import EventStream
from switchyard.surfaces.webchat import conversations
from switchyard.surfaces.webchat.common import deliver_media, model_headers, provider, served_headers
from switchyard.translate import OpenAIChatStream
from switchyard.translate.profile import ModelProfile

log = logging.getLogger(__name__)
Event = dict[str, Any]
SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


@dataclass
class _Plan:
    fresh: WebTurn  # the request as a new conversation (the flattened history)
    continued: WebTurn | None = None  # only the new messages, on the account holding the conversation
    account: str | None = None
    session: str | None = None  # keeps a conversation's turns on its account while it is healthy

    def turn_for(self, account: UpstreamAccount) -> WebTurn:
        return self.turn_named(account.name)

    def turn_named(self, account: str | None) -> WebTurn:
        if self.continued is not None and account == self.account:
            return self.continued
        return self.fresh

    def headers(self, account: str | None) -> dict[str, str]:
        """Say when history was left out to keep the turn under the web app's request cap."""
        trimmed = self.turn_named(account).trimmed
        if not trimmed:
            return {}
        return {
            "x-switchyard-history-trimmed": str(trimmed),
            "warning": f"299 switchyard \"the {trimmed} oldest messages were left out to fit Gemini web's "
            'request size limit"',
        }


async def chat(
    runtime: Runtime, ctx: RequestContext, request: Request, body: dict[str, Any], model: WebModel
) -> Response:
    """Answer one chat completion request (already parsed and admitted)."""
    plan = await plan_turn(runtime, ctx, body, model)
    state = OpenAIChatStream.for_request(body, model=ModelProfile(id=model.public_id, family="gemini-3"))
    call = _Call(runtime, ctx, model, plan, state, str(request.base_url), body["messages"])
    if body.get("stream"):
        return await call.stream()
    return await call.complete()


async def plan_turn(runtime: Runtime, ctx: RequestContext, body: dict[str, Any], model: WebModel) -> _Plan:
    messages: list[Any] = body["messages"]
    offer = tool_offer(body)
    media = await fetch_all_media(runtime, ctx, body)
    cap = runtime.settings.gemini_web_request_cap_bytes
    full = fit(messages, offer=offer, media=media, cap_bytes=cap)
    if full.files and not model.accepts_files:
        raise InvalidRequest(
            f"'{model.public_id}' answers text only and does not accept image or file input; "
            "use gemini-2.5-flash or a Pro model for attachments.",
            param="messages",
            code="unsupported_input",
        )
    scope = conversations.scope_of(ctx.key.id if ctx.key else None, model.web_model)
    plan = _Plan(
        WebTurn(full.text, model, full.files, offer=offer, trimmed=full.trimmed),
        session=conversations.session_of(scope, messages),
    )
    known = await conversations.find(runtime, scope, messages)
    if known is not None:
        # Conversation reuse first: only the new messages travel, so the cap rarely bites.
        rest = fit(
            messages[known.index + 1 :], offer=offer, media=media, cap_bytes=cap, first_index=known.index + 1
        )
        plan.continued = WebTurn(rest.text, model, rest.files, known.metadata, offer, trimmed=rest.trimmed)
        plan.account = known.account
    if full.trimmed:
        log.info("web turn trimmed: the %d oldest messages left out to fit %d bytes", full.trimmed, cap)
    return plan


class _Call:
    def __init__(
        self,
        runtime: Runtime,
        ctx: RequestContext,
        model: WebModel,
        plan: _Plan,
        state: OpenAIChatStream,
        base_url: str,
        messages: list[Any],
    ) -> None:
        self.runtime, self.ctx, self.model, self.plan, self.state = runtime, ctx, model, plan, state
        self.base_url, self.messages = base_url, messages
        self.provider = provider(runtime)
        self.recorder = conversations.AnswerRecorder()
        self.headers = model_headers(model)
        self.avoid = self.provider.unfit_accounts(model)

    def _start(self, account: UpstreamAccount) -> AsyncIterator[Event]:
        return self.provider.stream(account, self.plan.turn_for(account))

    async def complete(self) -> Response:
        events = await failover.run_unary(
            self.runtime.pool,
            self.ctx,
            self.model.family,
            lambda account: _collect(self._start(account)),
            session=self.plan.session,
            avoid=self.avoid,
        )
        deliver_media(events, self.runtime, self.base_url)
        completion = self.state.build_completion(events)
        self.recorder.feed_all(events)
        self._record_usage()
        await self._remember()
        headers = {**self.headers, **self.plan.headers(self.ctx.account), **served_headers(events)}
        return json_response(completion, headers=headers)

    async def stream(self) -> Response:
        self.ctx.stream = True
        first, rest = await failover.open_stream(
            self.runtime.pool,
            self.ctx,
            self.model.family,
            self._start,
            tokens=tokens_of,
            session=self.plan.session,
            avoid=self.avoid,
        )
        headers = {**self.headers, **self.plan.headers(self.ctx.account), **served_headers([first])}
        try:
            head = self._frames(first)
        except BaseException:
            await _close(rest)
            raise
        return EventStream(
            self._sse(head, rest),
            interval_s=self.runtime.settings.keepalive_interval_s,
            media_type="text/event-stream",
            headers={**SSE_HEADERS, **headers},
            cut_frame=b"data: " + error_body(STREAM_CUT, "openai") + b"\n\n",
        )

    def _frames(self, event: Event) -> list[bytes]:
        deliver_media((event,), self.runtime, self.base_url)
        self.recorder.feed(event)
        return self.state.feed(event)

    async def _sse(self, head: list[bytes], rest: AsyncIterator[Event]) -> AsyncIterator[bytes]:
        self.runtime.metrics.open_streams.inc()
        try:
            for frame in head:
                yield frame
            async for event in rest:
                for frame in self._frames(event):
                    yield frame
            closing = self.state.finish()  # the last chunk and [DONE]: nothing may follow them
            await self._remember()
            for frame in closing:
                yield frame
        except SwitchyardError as error:
            self.ctx.error_class = str(getattr(error, "error_class", "")) or None
            yield b"data: " + error_body(error, "openai") + b"\n\n"
        except Exception:
            log.exception("web chat stream failed (request %s)", self.ctx.request_id)
            failure = InternalError(f"Internal error; see the logs under request id {self.ctx.request_id}.")
            yield b"data: " + error_body(failure, "openai") + b"\n\n"
        finally:
            self._record_usage()
            with anyio.CancelScope(shield=True):
                await _close(rest)
            self.runtime.metrics.open_streams.dec()

    # -- shared --------------------------------------------------------------------------------

    async def _remember(self) -> None:
        """Best effort: the answer is complete, so a store failure here costs only the chance to
        continue the conversation (the next request resends the history), never the answer."""
        try:
            await conversations.remember(
                self.runtime,
                conversations.scope_of(self.ctx.key.id if self.ctx.key else None, self.model.web_model),
                self.messages,
                self.recorder.message(),
                account=self.ctx.account,
                web_model=self.model.web_model,
                metadata=self.recorder.metadata,
            )
        except Exception:
            log.exception("could not record the web conversation (request %s)", self.ctx.request_id)

    def _record_usage(self) -> None:
        if self.state.usage is None:
            return
        usage = self.state.usage_dict()
        self.ctx.set_usage(
            usage["prompt_tokens"],
            usage["completion_tokens"],
            usage["completion_tokens_details"]["reasoning_tokens"],
        )


async def _collect(events: AsyncIterator[Event]) -> list[Event]:
    return [event async for event in events]


async def _close(events: AsyncIterator[Any]) -> None:
    close = getattr(events, "aclose", None)
    if close is not None:
        await close()
