"""Framing an answer as `v1internal` responses: the SSE events of §5.2 and the aggregated §5.1 body.

A stream is a list of pre-encoded `data: {...}\\n\\n` chunks, built before the first byte is sent so
the sending loop only writes bytes (cheap enough to benchmark the gateway against). No `[DONE]`.
Ugly-but-real shapes are reproduced: intermediate events carry a prompt-only `usageMetadata`, only the
first carries `createTime`, and some streams end with a STOP event without usage followed by a
usage-only event (CPA `FilterSSEUsageMetadata`).
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from switchyard.emulators.cloudcode_answers import Answer, aggregate_parts, split_text

TRAFFIC_TYPE = "PROVISIONED_THROUGHPUT"
SSE_MEDIA_TYPE = "text/event-stream"
JSON_MEDIA_TYPE = "application/json; charset=UTF-8"


@dataclass
class StreamSettings:
    """`POST /_control/settings`: benchmark knobs and the usage-split switch (None = decided per request)."""

    events_per_stream: int | None = None
    bytes_per_event: int | None = None
    event_delay_ms: float = 0.0
    split_usage: bool | None = None

    def update(self, spec: Mapping[str, Any]) -> None:
        for name in ("events_per_stream", "bytes_per_event"):
            if name in spec:
                value = spec[name]
                if value is not None and (not isinstance(value, int) or value < 1):
                    raise ValueError(f"{name} must be a positive integer or null")
                setattr(self, name, value)
        if "event_delay_ms" in spec:
            self.event_delay_ms = float(spec["event_delay_ms"] or 0)
        if "split_usage" in spec:
            self.split_usage = None if spec["split_usage"] is None else bool(spec["split_usage"])

    def public(self) -> dict[str, Any]:
        return dict(vars(self))


def new_trace_id() -> str:
    return secrets.token_hex(8)


def new_response_id(anthropic: bool) -> str:
    """Claude answers carry `msg_vrtx_…`, others a ~22-character base64url id (§5.1)."""
    if anthropic:
        return "msg_vrtx_" + secrets.token_urlsafe(18)
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")[:22]


def create_time() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def full_usage(answer: Answer) -> dict[str, Any]:
    text_tokens = answer.candidates_tokens - answer.image_tokens
    candidate_details = [{"modality": "TEXT", "tokenCount": text_tokens}]
    if answer.image_tokens:
        candidate_details.append({"modality": "IMAGE", "tokenCount": answer.image_tokens})
    usage: dict[str, Any] = {
        "promptTokenCount": answer.prompt_tokens,
        "candidatesTokenCount": answer.candidates_tokens,
        "totalTokenCount": answer.total_tokens,
        "trafficType": TRAFFIC_TYPE,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": answer.prompt_tokens}],
        "candidatesTokensDetails": candidate_details,
    }
    if answer.thoughts_tokens:
        usage["thoughtsTokenCount"] = answer.thoughts_tokens
    return usage


def prompt_usage(answer: Answer) -> dict[str, Any]:
    return {"promptTokenCount": answer.prompt_tokens, "totalTokenCount": answer.prompt_tokens}


class Framer:
    """Wraps candidate fragments in the envelope, with the ids shared by every event of one answer."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.trace_id = new_trace_id()
        self.response_id = new_response_id(answer.anthropic)
        self.created = create_time()

    def response(
        self,
        parts: list[dict[str, Any]] | None,
        *,
        usage: dict[str, Any] | None,
        finish: bool = False,
        first: bool = False,
    ) -> dict[str, Any]:
        inner: dict[str, Any] = {}
        if parts is not None:
            candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}}
            if finish:
                candidate["finishReason"] = self.answer.finish_reason
                if self.answer.grounding:
                    candidate["groundingMetadata"] = self.answer.grounding
            inner["candidates"] = [candidate]
        if usage is not None:
            inner["usageMetadata"] = usage
        inner["modelVersion"] = self.answer.model
        if first:
            inner["createTime"] = self.created
        inner["responseId"] = self.response_id
        return {"response": inner, "traceId": self.trace_id}

    def aggregated(self) -> dict[str, Any]:
        """The `generateContent` body: all parts merged into one candidate, full usage."""
        return self.response(
            aggregate_parts(self.answer.parts), usage=full_usage(self.answer), finish=True, first=True
        )


def encode_event(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def _event_groups(parts: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """One event per part, except that parallel function calls arrive together."""
    groups: list[list[dict[str, Any]]] = []
    for part in parts:
        if "functionCall" in part and groups and "functionCall" in groups[-1][-1]:
            groups[-1].append(part)
        else:
            groups.append([part])
    return groups


def stream_events(answer: Answer, framer: Framer, *, split_usage: bool, finish: bool = True) -> list[bytes]:
    """The natural stream: thoughts, then content, the last event with finishReason and usage."""
    groups = _event_groups(answer.parts) or [[{"text": ""}]]
    events = [
        encode_event(framer.response(group, usage=prompt_usage(answer), first=index == 0))
        for index, group in enumerate(groups[:-1])
    ]
    last_first = len(groups) == 1
    if not finish:
        events.append(encode_event(framer.response(groups[-1], usage=prompt_usage(answer), first=last_first)))
    elif split_usage:
        events.append(encode_event(framer.response(groups[-1], usage=None, finish=True, first=last_first)))
        events.append(encode_event(framer.response(None, usage=full_usage(answer))))
    else:
        events.append(
            encode_event(framer.response(groups[-1], usage=full_usage(answer), finish=True, first=last_first))
        )
    return events


def benchmark_events(answer: Answer, framer: Framer, settings: StreamSettings) -> list[bytes]:
    """A text-only stream of exactly `events_per_stream` events of `bytes_per_event` text bytes each.

    The middle events are identical, so they are encoded once and repeated.
    """
    text = "".join(p.get("text", "") for p in answer.parts if not p.get("thought")) or answer.model
    count = settings.events_per_stream or len(split_text(text, 3))
    size = settings.bytes_per_event or max(1, len(text) // count)
    piece = (text * (size // max(1, len(text)) + 1))[:size]
    answer.candidates_tokens = answer.image_tokens + (size * count + 3) // 4
    if count == 1:
        return [
            encode_event(
                framer.response([{"text": piece}], usage=full_usage(answer), finish=True, first=True)
            )
        ]
    first = encode_event(framer.response([{"text": piece}], usage=prompt_usage(answer), first=True))
    middle = encode_event(framer.response([{"text": piece}], usage=prompt_usage(answer)))
    last = encode_event(framer.response([{"text": piece}], usage=full_usage(answer), finish=True))
    return [first, *([middle] * (count - 2)), last]


class SSEStream(Response):
    """Writes pre-encoded events; can pause between them, or cut the connection mid-stream.

    `drop=True` returns without finishing the HTTP body, so the server closes the connection and the
    client sees a truncated chunked body, like a dropped upstream connection.
    """

    media_type = SSE_MEDIA_TYPE

    def __init__(
        self, events: list[bytes], *, headers: dict[str, str], delay_s: float = 0.0, drop: bool = False
    ):
        super().__init__(content=b"", status_code=200, headers=headers, media_type=SSE_MEDIA_TYPE)
        self.events = events
        self.delay_s = delay_s
        self.drop = drop
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        disconnected = asyncio.Event()

        async def watch_disconnect() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    disconnected.set()
                    return

        watcher = asyncio.create_task(watch_disconnect())
        try:
            await send(
                {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
            )
            for index, event in enumerate(self.events):
                if index and self.delay_s:
                    await asyncio.sleep(self.delay_s)
                if disconnected.is_set():
                    return
                await send({"type": "http.response.body", "body": event, "more_body": True})
            if not self.drop:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            watcher.cancel()
