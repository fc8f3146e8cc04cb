"""Canonical Gemini response events → an Anthropic message, or Anthropic's stream events.

One translator serves both modes: `_apply` turns one upstream event into Anthropic stream events
(`content_block_start` / `content_block_delta` / `content_block_stop`); `feed` frames them as SSE
after a `message_start`, `build_message` folds the same events into content blocks. Both end in
`_end`, which refuses a stream that stopped without a `finishReason`, with nothing but thoughts,
or with a malformed function call (`StreamInterrupted`, field-notes 5), never a quiet `end_turn`.

Blocks: thought text → `thinking` (`thinking_delta`), a signature on a thought part → its
`signature_delta` (Claude's arrives in a trailing empty thought part and is passed on unchanged;
other families' are tagged so they return only to the family that issued them); text → `text`;
`functionCall` → `tool_use` with one `input_json_delta` holding the whole arguments (the upstream
sends a call whole). A Gemini call's signature rides in its id (`encode_signature_in_id`) and in the
cache, so a replayed `tool_use` finds it again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from switchyard.errors import StreamInterrupted
from switchyard.ids import new_id
from switchyard.translate.profile import Family, ModelProfile
from switchyard.translate.signatures import (
    SignatureCache,
    SignedThought,
    encode_signature_in_id,
    tag_signature,
)

STOP_REASONS = {"MAX_TOKENS": "max_tokens"}
"""Upstream `finishReason` → `stop_reason`; everything else ends the turn (a call makes it `tool_use`)."""
REFUSALS = frozenset({"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"})
Event = dict[str, Any]


@dataclass(slots=True)
class AnthropicMessageStream:
    """The state of one answer being translated: the open block, counters, stop reason, usage."""

    model: str
    family: Family
    tool_names: Mapping[str, str] = field(default_factory=dict)
    stop_sequences: tuple[str, ...] = ()
    signatures: SignatureCache | None = None
    message_id: str = field(default_factory=lambda: "msg_" + new_id())

    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    tool_calls: int = 0
    has_content: bool = False
    _started: bool = False
    _index: int = -1
    _open: str | None = None
    _thinking: list[str] = field(default_factory=list)
    _signature: str | None = None
    _call_ids: list[str] = field(default_factory=list)
    stopped_at: str | None = None
    """The client's stop sequence the text reached (see `_text`); nothing after it is shown."""
    _held: str = ""

    @classmethod
    def for_request(
        cls,
        body: Mapping[str, Any],
        *,
        model: ModelProfile,
        tool_names: Mapping[str, str] | None = None,
        signatures: SignatureCache | None = None,
    ) -> AnthropicMessageStream:
        stop = body.get("stop_sequences")
        return cls(
            model=str(body.get("model") or model.id),
            family=model.family,
            tool_names=tool_names or {},
            stop_sequences=tuple(s for s in stop if isinstance(s, str) and s)
            if isinstance(stop, list)
            else (),
            signatures=signatures,
        )

    # -- streaming -----------------------------------------------------------------------------

    def feed(self, event: Mapping[str, Any]) -> list[bytes]:
        """SSE frames for one upstream event, `message_start` before the first."""
        events = self._apply(event)  # first: its prompt usage belongs in `message_start`
        frames = [] if self._started else [_frame(self._message_start())]
        self._started = True
        return frames + [_frame(out) for out in events]

    def finish(self) -> list[bytes]:
        """The closing frames: the open block's stop, `message_delta` (stop reason, usage), `message_stop`."""
        frames = [] if self._started else [_frame(self._message_start())]
        self._started = True
        frames += [_frame(out) for out in [*self._flush(), *self._close()]]
        stop_reason = self._end()
        delta = {"stop_reason": stop_reason, "stop_sequence": self._matched_stop(stop_reason)}
        # The full usage here: input tokens are known only once the upstream reports them, at the end.
        frames.append(_frame({"type": "message_delta", "delta": delta, "usage": self.usage_dict()}))
        frames.append(_frame({"type": "message_stop"}))
        return frames

    def _message_start(self) -> Event:
        message = self._envelope([], None, None)
        message["usage"] = {**self.usage_dict(), "output_tokens": 1 if self.usage is None else 0}
        return {"type": "message_start", "message": message}

    # -- non-streaming -------------------------------------------------------------------------

    def build_message(self, events: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
        """One Anthropic message from all upstream events (the same rules as the stream)."""
        blocks: list[dict[str, Any]] = []
        for event in events:
            _fold(blocks, self._apply(event))
        _fold(blocks, [*self._flush(), *self._close()])
        stop_reason = self._end()
        return self._envelope(blocks, stop_reason, self._matched_stop(stop_reason))

    def _envelope(self, content: list[dict[str, Any]], stop_reason: str | None, stop: str | None) -> Event:
        return {
            "id": self.message_id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": stop,
            "usage": self.usage_dict(),
        }

    # -- shared --------------------------------------------------------------------------------

    def _apply(self, event: Mapping[str, Any]) -> list[Event]:
        usage = event.get("usageMetadata")
        if usage:
            self.usage = dict(usage)
        candidates = event.get("candidates")
        if not candidates:
            feedback = event.get("promptFeedback")
            if isinstance(feedback, dict) and feedback.get("blockReason"):
                self.finish_reason = "SAFETY"
            return []
        candidate = candidates[0]
        reason = candidate.get("finishReason")
        if reason == "MALFORMED_FUNCTION_CALL":
            raise StreamInterrupted(
                "The upstream model produced a malformed function call (MALFORMED_FUNCTION_CALL); "
                "retry, or simplify the tool schema",
                reason=reason,
            )
        out: list[Event] = []
        for part in (candidate.get("content") or {}).get("parts") or ():
            out += self._part(part)
        if reason:
            self.finish_reason = reason
        return out

    def _part(self, part: Mapping[str, Any]) -> list[Event]:
        if self.stopped_at is not None:
            return []  # the answer ended at the client's stop sequence
        signature = part.get("thoughtSignature") or part.get("thought_signature")
        if "functionCall" in part:
            return [*self._flush(), *self._call(part["functionCall"], signature)]
        if part.get("thought"):
            out: list[Event] = self._flush()
            text = part.get("text") or ""
            if text or (signature and self.family == "claude"):
                out += self._switch("thinking")
            if text:
                self._thinking.append(text)
                out.append(self._delta({"type": "thinking_delta", "thinking": text}))
            if signature and self._open == "thinking":
                self._signature = signature
                shown = signature if self.family == "claude" else tag_signature(self.family, signature)
                out.append(self._delta({"type": "signature_delta", "signature": shown}))
            return out
        if signature and self.family == "claude":
            self._signature = signature  # Claude signs the thinking that precedes its calls
        text = part.get("text")
        return self._text(text) if text else []

    def _text(self, text: str) -> list[Event]:
        """Text, cut at the first of the client's stop sequences. Gemini honours `stopSequences`
        itself and then reports a plain STOP, which cannot be told from a natural end; where the
        text still reaches one (an upstream that ignored it), the answer ends there as Anthropic's
        does, with `stop_sequence`. In a stream, a tail that may begin a stop sequence is held back
        until the next text decides it."""
        if not self.stop_sequences:
            return self._emit(text)
        text, self._held = self._held + text, ""
        hits = [(text.find(stop), stop) for stop in self.stop_sequences if stop in text]
        if hits:
            index, stop = min(hits)
            self.stopped_at = stop
            return self._emit(text[:index])
        keep = max(
            (n for stop in self.stop_sequences for n in range(1, len(stop)) if text.endswith(stop[:n])),
            default=0,
        )
        if keep:
            text, self._held = text[:-keep], text[-keep:]
        return self._emit(text)

    def _flush(self) -> list[Event]:
        held, self._held = self._held, ""
        return self._emit(held)

    def _emit(self, text: str) -> list[Event]:
        if not text:
            return []
        self.has_content = True
        return [*self._switch("text"), self._delta({"type": "text_delta", "text": text})]

    def _call(self, call: Mapping[str, Any], signature: str | None) -> list[Event]:
        name = str(call.get("name") or "")
        base_id = str(call.get("id") or f"toolu_{new_id()}")
        self._call_ids.append(base_id)
        if signature and self.family != "claude" and self.signatures is not None:
            self.signatures.remember_tool_call(base_id, SignedThought(self.family, signature))
        public_id = encode_signature_in_id(base_id, self.family, signature) if signature else base_id
        self.tool_calls += 1
        self.has_content = True
        block = {"type": "tool_use", "id": public_id, "name": self.tool_names.get(name, name), "input": {}}
        out = [*self._close(), *self._start(block, "tool_use")]
        arguments = orjson.dumps(call.get("args") or {}).decode()
        out.append(self._delta({"type": "input_json_delta", "partial_json": arguments}))
        return out + self._close()

    def _switch(self, kind: str) -> list[Event]:
        if self._open == kind:
            return []
        block: dict[str, Any] = (
            {"type": "thinking", "thinking": "", "signature": ""}
            if kind == "thinking"
            else {"type": "text", "text": ""}
        )
        return [*self._close(), *self._start(block, kind)]

    def _start(self, block: dict[str, Any], kind: str) -> list[Event]:
        self._index += 1
        self._open = kind
        return [{"type": "content_block_start", "index": self._index, "content_block": block}]

    def _delta(self, delta: dict[str, Any]) -> Event:
        return {"type": "content_block_delta", "index": self._index, "delta": delta}

    def _close(self) -> list[Event]:
        if self._open is None:
            return []
        self._open = None
        return [{"type": "content_block_stop", "index": self._index}]

    def _end(self) -> str:
        """The `stop_reason`, after checking the upstream really finished; records signatures."""
        self._remember_signatures()
        if self.finish_reason is None:
            raise StreamInterrupted("The upstream stream ended without a finish reason (truncated)")
        if self.stopped_at is not None:
            return "stop_sequence"
        if self.tool_calls:
            return "tool_use"
        if self.finish_reason in REFUSALS:
            return "refusal"
        reason = STOP_REASONS.get(self.finish_reason, "end_turn")
        if not self.has_content and reason != "max_tokens":
            what = "only thoughts" if self._thinking else "no content"
            raise StreamInterrupted(f"The upstream answered with {what}; treating it as a failed response")
        return reason

    def _matched_stop(self, stop_reason: str) -> str | None:
        return self.stopped_at if stop_reason == "stop_sequence" else None

    def _remember_signatures(self) -> None:
        if self.signatures is not None and self._signature is not None:
            self.signatures.remember_turn(self.family, self._signature, self._thinking, self._call_ids)

    def usage_dict(self) -> dict[str, Any]:
        """Anthropic usage: output includes thinking; no prompt caching, so both cache fields are 0."""
        usage = self.usage or {}
        output = int(usage.get("candidatesTokenCount") or 0) + int(usage.get("thoughtsTokenCount") or 0)
        return {
            "input_tokens": int(usage.get("promptTokenCount") or 0),
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": output,
        }


def _fold(blocks: list[dict[str, Any]], events: list[Event]) -> None:
    """Apply stream events to a list of content blocks (the non-streaming message)."""
    for event in events:
        if event["type"] == "content_block_start":
            blocks.append(dict(event["content_block"]))
        elif event["type"] == "content_block_delta":
            block, delta = blocks[event["index"]], event["delta"]
            kind = delta["type"]
            if kind == "text_delta":
                block["text"] += delta["text"]
            elif kind == "thinking_delta":
                block["thinking"] += delta["thinking"]
            elif kind == "signature_delta":
                block["signature"] = delta["signature"]
            elif kind == "input_json_delta":
                block["input"] = orjson.loads(delta["partial_json"])


def _frame(event: Event) -> bytes:
    return b"event: " + event["type"].encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"
