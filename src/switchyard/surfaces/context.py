"""The per-request context and the ASGI middleware that measures, records and cleans up.

Pure ASGI (not BaseHTTPMiddleware), because it must see the moment the first body byte is sent
(time to first byte) and the last (latency) of streaming responses without buffering them. When
the response is over — finished, failed, or the client went away — it releases the key's
concurrency slot, records the metrics, and logs one line. The usage event of a response that
completes is made durable just before its last byte is sent (`UsageRecorder.persist`); that of
one that did not (499, 503) when it ends.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from switchyard import redis_link
from switchyard.ids import new_id
from switchyard.runtime import Runtime
from switchyard.shared.context import RequestContext
from switchyard.store.reachable import store_unreachable
from switchyard.surfaces.catalogue import is_listed_model
from switchyard.usage import UsageRecord

log = logging.getLogger("switchyard.access")
UPSTREAM_MODEL_HEADER = b"x-switchyard-upstream-model"
"""Names the upstream model that served a request (a forwarded or aliased name, api-contract)."""
CLIENT_CLOSED = 499
"""nginx's status for a request the client gave up on before its response ended."""
CHARS_PER_TOKEN = 4
"""The usual estimate for English text with Gemini's tokenizer (a cut stream's completion tokens)."""
OTHER_MODEL = "other"
"""The metrics label of a model name that is not one we serve."""
__all__ = ["GatewayMiddleware", "RequestContext", "get_context", "scope_headers"]
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def get_context(scope: Scope) -> RequestContext:
    return scope["state"]["ctx"]


class GatewayMiddleware:
    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _REQUEST_ID.match(incoming) else new_id()
        ctx = RequestContext(request_id=request_id, started=time.perf_counter())
        scope.setdefault("state", {})["ctx"] = ctx
        id_header = (b"x-request-id", request_id.encode())

        completed = recorded = False
        batch = redis_link.open_batch()  # the request's deferred Redis writes go out together

        async def send_wrapper(message: Message) -> None:
            nonlocal completed, recorded
            if message["type"] == "http.response.start":
                ctx.status = message["status"]
                headers = message.get("headers", ())
                # Error responses carry the id already (the 500 handler runs outside this middleware).
                if not any(name == b"x-request-id" for name, _ in headers):
                    headers = [*headers, id_header]
                if ctx.upstream_model is not None:
                    headers = [*headers, (UPSTREAM_MODEL_HEADER, ctx.upstream_model.encode())]
                message["headers"] = headers
            else:
                if ctx.first_byte is None and message.get("body"):
                    ctx.first_byte = time.perf_counter()
                if not message.get("more_body", False):
                    completed = True
                    if ctx.lease is not None:  # its release rides with the usage event's write
                        ctx.lease.release(ctx.status)
                    usage = self.runtime.usage
                    if ctx.key is not None and usage is not None:
                        # Durable before the last byte leaves: a client that saw its response
                        # complete has its usage row, even if this process is killed now.
                        await usage.persist(self._usage_record(ctx, ctx.status))
                        recorded = True
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
            if ctx.status and not completed:
                ctx.status = CLIENT_CLOSED  # a stream the client left before its end
        except BaseException as error:
            if not ctx.status:  # the app's error handler answers: 503 for an unreachable store
                ctx.status = 503 if store_unreachable(error) else 500
            elif not completed:  # cut after its status was sent: the log and usage say so
                ctx.status = 503 if isinstance(error, asyncio.CancelledError) else 500
            raise
        finally:
            self._finish(ctx, scope, recorded)
            redis_link.close_batch(batch)

    def _finish(self, ctx: RequestContext, scope: Scope, recorded: bool) -> None:
        ended = time.perf_counter()
        status = ctx.status or CLIENT_CLOSED
        if ctx.lease is not None:
            ctx.lease.release(status)
        latency_s = ended - ctx.started
        ttfb_s = (ctx.first_byte - ctx.started) if ctx.first_byte is not None else None
        if ctx.surface != "other":
            metrics = self.runtime.metrics
            metrics.requests.labels(
                ctx.surface, ctx.provider, self._model_label(ctx, status), str(status)
            ).inc()
            metrics.latency.labels(ctx.surface, ctx.provider).observe(latency_s)
            if ttfb_s is not None:
                metrics.ttfb.labels(ctx.surface, ctx.provider).observe(ttfb_s)
            if ctx.error_class:
                metrics.upstream_errors.labels(ctx.provider, ctx.error_class).inc()
        if ctx.key is not None:
            tokens = ctx.prompt_tokens + _completion_tokens(ctx, status)
            if self.runtime.guard is not None:
                self.runtime.guard.add_tokens(ctx.key, tokens)
            if self.runtime.usage is not None and not recorded:
                self.runtime.usage.record(self._usage_record(ctx, status))
        if ctx.surface != "other" or status >= 500:
            log.info(
                "%s %s %d",
                scope.get("method"),
                scope.get("path"),
                status,
                extra={
                    "fields": {
                        "request_id": ctx.request_id,
                        "key": ctx.key.name if ctx.key else None,
                        "provider": ctx.provider,
                        "model": ctx.model,
                        "account": ctx.account,
                        "latency_ms": round(latency_s * 1000, 1),
                        "ttfb_ms": round(ttfb_s * 1000, 1) if ttfb_s is not None else None,
                    }
                },
            )

    @staticmethod
    def _usage_record(ctx: RequestContext, status: int) -> UsageRecord:
        assert ctx.key is not None
        ended = time.perf_counter()
        return UsageRecord(
            created_at=time.time(),
            request_id=ctx.request_id,
            key_id=ctx.key.id,
            key_name=ctx.key.name,
            surface=ctx.surface,
            provider=ctx.provider,
            model=ctx.model,
            account=ctx.account,
            status=status,
            error_class=ctx.error_class,
            stream=ctx.stream,
            prompt_tokens=ctx.prompt_tokens,
            completion_tokens=_completion_tokens(ctx, status),
            reasoning_tokens=ctx.reasoning_tokens,
            latency_ms=(ended - ctx.started) * 1000,
            ttfb_ms=(ctx.first_byte - ctx.started) * 1000 if ctx.first_byte is not None else None,
        )

    def _model_label(self, ctx: RequestContext, status: int) -> str:
        """The model as a metrics label only when it names a model we serve: a client chooses the
        text, and every distinct label is a time series kept for good (issue 17 #8)."""
        if ctx.model is None:
            return "-"
        if status == 404:
            return OTHER_MODEL
        if ctx.model_known or status < 400 or is_listed_model(self.runtime, ctx.provider, ctx.model):
            return ctx.model
        return OTHER_MODEL


def _completion_tokens(ctx: RequestContext, status: int) -> int:
    """The upstream's count; for a stream that did not finish, at least the estimate of what it
    served (the upstream reports completion tokens only at the end, `served.py`)."""
    if ctx.stream and status in (CLIENT_CLOSED, 503) and ctx.served_chars:
        return max(ctx.completion_tokens, math.ceil(ctx.served_chars / CHARS_PER_TOKEN))
    return ctx.completion_tokens


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def scope_headers(scope: Scope) -> dict[str, Any]:
    return {bytes(k).decode("latin-1"): bytes(v).decode("latin-1") for k, v in scope.get("headers", ())}
