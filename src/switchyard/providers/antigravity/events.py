"""Reading a `v1internal` stream: SSE events into `GenerateContentResponse` batches (`iter_events`).

This is the per-chunk path, so it is written for it: one hop through the generator per socket read,
not per event, and the refusal screen (`refusals.RefusalGuard`) runs in a loop of its own over the
first events only, so once a stream is released the per-chunk loop does no screening work at all.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

import aiohttp
import orjson

from switchyard.errors import StreamInterrupted, UpstreamError, UpstreamTransient

from .errors import classify_error
from .protocol import unwrap_response
from .sse import SSEDecoder
from .transport import TRANSPORT_ERRORS


def has_finish_reason(event: dict[str, Any]) -> bool:
    """Whether an event ends a candidate: the mark of a stream that finished rather than broke."""
    candidates = event.get("candidates")
    return isinstance(candidates, list) and any(
        isinstance(candidate, dict) and candidate.get("finishReason") for candidate in candidates
    )


def _decode_event(data: bytes, delivered: int) -> dict[str, Any] | None:
    """One event's inner response; an error event raises (classified if nothing was delivered)."""
    try:
        payload = orjson.loads(data)
    except orjson.JSONDecodeError:
        if delivered:
            raise StreamInterrupted("Antigravity stream sent a garbled event") from None
        raise UpstreamTransient("Antigravity stream sent a garbled event") from None
    if type(payload) is dict and "error" not in payload:  # the per-event path: an ordinary event
        inner = payload.get("response")
        return inner if type(inner) is dict else None
    if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
        code = payload["error"].get("code")
        error = classify_error(code if isinstance(code, int) else 500, data, {})
        if delivered:
            raise StreamInterrupted(
                f"Antigravity stream failed mid-way: {error.message}", reason=error.reason
            )
        raise error
    return unwrap_response(payload)


def _decode_batch(datas: list[bytes], delivered: int) -> list[dict[str, Any]]:
    batch: list[dict[str, Any]] = []
    for data in datas:
        event = _decode_event(data, delivered + len(batch))
        if event is not None:
            batch.append(event)
    return batch


class EventScreen(Protocol):
    """Looks at a stream's first events before any is delivered (the refusal check, `refusals.py`)."""

    def feed(self, event: dict[str, Any]) -> bool:
        """True to keep holding the events back (they could still turn out to be a refusal)."""
        ...

    def refusal_error(self) -> UpstreamError | None:
        """What the held events were, once the answer is complete: an error, or None to deliver."""
        ...


async def _screen_start(
    chunks: AsyncIterator[bytes], decoder: SSEDecoder, screen: EventScreen
) -> tuple[list[dict[str, Any]], bool]:
    """Read events while `screen` holds them; (the held events, whether the stream ended).

    Raises the screen's error when the whole answer (a finish reason, or the end) was a refusal.
    """
    held: list[dict[str, Any]] = []
    async for chunk in chunks:
        batch = _decode_batch(decoder.feed(chunk), 0)
        held += batch
        if not all(map(screen.feed, batch)):
            return held, False
        if any(map(has_finish_reason, batch)):
            _raise_refusal(screen)
            return held, False
    tail = _decode_batch(decoder.finish(), 0)
    held += tail
    if all(map(screen.feed, tail)):
        _raise_refusal(screen)
    return held, True


def _raise_refusal(screen: EventScreen) -> None:
    error = screen.refusal_error()
    if error is not None:
        raise error


async def iter_events(
    open_response: Callable[[], Awaitable[aiohttp.ClientResponse]],
    screen: EventScreen | None = None,
) -> AsyncGenerator[list[dict[str, Any]], None]:
    """Yield the inner `GenerateContentResponse`s as they arrive, in batches: every event
    completed by one read of the socket together (one hop through the generators above per read,
    not per event — this is the per-chunk path). `open_response` sends the request (on the first
    `anext`); the response is always closed.

    With a `screen`, the first events are held back while it says they could be a refusal; then
    they go out as one batch, or the screen's error is raised instead. That happens in a loop of
    its own before the per-chunk loop, which therefore does no screening work at all.

    Before anything was yielded a failure is an ordinary (retryable) upstream error; after, it is
    `StreamInterrupted`, because the client already has part of an answer. A stream that ends
    without any `finishReason` was truncated, not finished (field-notes §3.5).
    """
    response = await open_response()
    decoder = SSEDecoder()
    delivered = 0
    finished = False
    ended = False
    chunks = response.content.iter_any()
    try:
        try:
            if screen is not None:
                held, ended = await _screen_start(chunks, decoder, screen)
                if held:
                    finished = any(map(has_finish_reason, held))
                    delivered = len(held)
                    yield held
            if not ended:
                async for chunk in chunks:
                    batch = _decode_batch(decoder.feed(chunk), delivered)
                    if batch:
                        finished = finished or any(map(has_finish_reason, batch))
                        delivered += len(batch)
                        yield batch
                batch = _decode_batch(decoder.finish(), delivered)
                if batch:
                    finished = finished or any(map(has_finish_reason, batch))
                    delivered += len(batch)
                    yield batch
        except TRANSPORT_ERRORS as exc:
            if not delivered:
                raise UpstreamTransient(
                    f"Antigravity stream broke before any event ({type(exc).__name__})"
                ) from None
            raise StreamInterrupted(
                f"Antigravity stream broke after {delivered} events ({type(exc).__name__})"
            ) from None
    finally:
        response.close()  # an unfinished body must not go back to the pool; a finished one is already
    if not delivered:
        raise UpstreamTransient("Antigravity stream ended without any event")
    if not finished:
        raise StreamInterrupted(f"Antigravity stream ended after {delivered} events without a finish reason")
