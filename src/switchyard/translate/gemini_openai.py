"""Canonical Gemini response events → OpenAI chat completion chunks, or one completion (§8.5).

One translator serves both modes: `OpenAIChatStream._apply` turns one upstream event into one
OpenAI delta; `feed` frames that delta as an SSE chunk, `build_completion` concatenates the deltas
into one message. Both end in the same `_end` check, so an upstream stream that stops without a
`finishReason`, says nothing but thoughts, or reports `MALFORMED_FUNCTION_CALL` is an error
(`StreamInterrupted`) in both modes, never a quiet `stop` (field-notes 5).

Speed: this runs once per upstream event. A chunk is the bytes prefix built once per stream, the
delta serialised by orjson, and a constant suffix: no chunk dict is built, nothing is parsed twice.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from switchyard.errors import StreamInterrupted
from switchyard.ids import new_id
from switchyard.translate.openai_tools import claude_placeholder_args, tool_name_map
from switchyard.translate.profile import Family, ModelProfile
from switchyard.translate.signatures import SignatureCache, SignedThought

FINISH_REASONS = {
    "STOP": "stop",
    "OTHER": "stop",
    "FINISH_REASON_UNSPECIFIED": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
    "LANGUAGE": "content_filter",
}
"""Upstream `finishReason` → OpenAI `finish_reason`; a tool call anywhere makes it `tool_calls`."""

_EMPTY_ALLOWED = frozenset({"length", "content_filter"})
"""Finish reasons after which an answer without content is legitimate, not a broken stream."""

DONE_FRAME = b"data: [DONE]\n\n"


@dataclass(slots=True)
class OpenAIChatStream:
    """The state of one response being translated: ids, counters, finish reason, usage.

    Build it with `for_request` (reads `model`, `tools` and `stream_options` from the client's body),
    then either `feed()` each upstream event and `finish()`, or call `build_completion(events)`.
    """

    model: str
    family: Family
    include_usage: bool = False
    tool_names: Mapping[str, str] = field(default_factory=dict)
    placeholder_args: Mapping[str, frozenset[str]] = field(default_factory=dict)
    signatures: SignatureCache | None = None
    created: int = field(default_factory=lambda: int(time.time()))
    response_id: str = field(default_factory=lambda: "chatcmpl-" + new_id())

    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    tool_call_count: int = 0
    image_count: int = 0
    has_content: bool = False
    _prefix: bytes | None = None
    _delta_head: bytes | None = None
    _role_sent: bool = False
    _turn_signature: str | None = None
    _thinking: list[str] = field(default_factory=list)
    _call_ids: list[str] = field(default_factory=list)

    @classmethod
    def for_request(
        cls, body: Mapping[str, Any], *, model: ModelProfile, signatures: SignatureCache | None = None
    ) -> OpenAIChatStream:
        """The state for answering `body`: the public model id it asked for, its tool names, usage flag."""
        options = body.get("stream_options")
        requested = body.get("model")
        return cls(
            model=requested if isinstance(requested, str) and requested else model.id,
            family=model.family,
            include_usage=isinstance(options, dict) and options.get("include_usage") is True,
            tool_names=tool_name_map(body),
            placeholder_args=claude_placeholder_args(body) if model.is_claude else {},
            signatures=signatures,
        )

    # -- streaming -----------------------------------------------------------------------------

    def feed(self, event: Mapping[str, Any]) -> list[bytes]:
        """SSE frames (`data: <chunk>\\n\\n`) for one upstream event; often none (usage-only events)."""
        delta = self._apply(event)
        if delta is None:
            return []
        if not self._role_sent:
            self._role_sent = True
            delta = {"role": "assistant", **delta}
        return [self._frame(delta, None)]

    def finish(self) -> list[bytes]:
        """The closing frames: the finish chunk, the usage chunk when asked for, then `[DONE]`."""
        finish_reason = self._end()
        frames = [self._frame({} if self._role_sent else {"role": "assistant", "content": ""}, finish_reason)]
        if self.include_usage:
            frames.append(
                self._prefix_bytes() + b"[]" + b',"usage":' + orjson.dumps(self.usage_dict()) + b"}\n\n"
            )
        frames.append(DONE_FRAME)
        return frames

    def _prefix_bytes(self) -> bytes:
        if self._prefix is None:
            head = {
                "id": self.response_id,
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.model,
            }
            self._prefix = b"data: " + orjson.dumps(head)[:-1] + b',"system_fingerprint":null,"choices":'
        return self._prefix

    def _frame(self, delta: Mapping[str, Any], finish_reason: str | None) -> bytes:
        if self._delta_head is None:
            self._delta_head = self._prefix_bytes() + b'[{"index":0,"delta":'
        usage = b',"usage":null' if self.include_usage else b""
        finish = b"null" if finish_reason is None else b'"' + finish_reason.encode() + b'"'
        return b"".join(
            (
                self._delta_head,
                orjson.dumps(delta),
                b',"logprobs":null,"finish_reason":',
                finish,
                b"}]",
                usage,
                b"}\n\n",
            )
        )

    # -- non-streaming -------------------------------------------------------------------------

    def build_completion(self, events: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
        """One `chat.completion` from all upstream events (the same rules as the stream)."""
        content: list[str] = []
        reasoning: list[str] = []
        tool_calls: list[dict[str, Any]] = []
        images: list[dict[str, Any]] = []
        for event in events:
            delta = self._apply(event)
            if delta is None:
                continue
            if "content" in delta:
                content.append(delta["content"])
            if "reasoning_content" in delta:
                reasoning.append(delta["reasoning_content"])
            for call in delta.get("tool_calls", ()):
                del call["index"]  # a stream delta's field: OpenAI's message.tool_calls has none
                tool_calls.append(call)
            images.extend(delta.get("images", ()))
        finish_reason = self._end()
        message: dict[str, Any] = {
            "role": "assistant",
            "content": "".join(content) if content or not tool_calls else None,
        }
        if reasoning:
            message["reasoning_content"] = "".join(reasoning)
        if tool_calls:
            message["tool_calls"] = tool_calls
        if images:
            message["images"] = images
        return {
            "id": self.response_id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
            "usage": self.usage_dict(),
        }

    # -- shared --------------------------------------------------------------------------------

    def _apply(self, event: Mapping[str, Any]) -> dict[str, Any] | None:
        """Record one event's metadata; return its OpenAI delta, or None when it carries no output."""
        if self._prefix is None:
            self._take_identity(event)
        usage = event.get("usageMetadata")
        if usage:
            self.usage = usage
        candidates = event.get("candidates")
        if not candidates:
            block = (
                event.get("promptFeedback", {}).get("blockReason")
                if isinstance(event.get("promptFeedback"), dict)
                else None
            )
            if block:
                self.finish_reason = "content_filter"
            return None
        candidate = candidates[0]
        reason = candidate.get("finishReason")
        if reason:
            if reason == "MALFORMED_FUNCTION_CALL":
                raise StreamInterrupted(
                    "The upstream model produced a malformed function call (MALFORMED_FUNCTION_CALL); "
                    "retry, or simplify the tool schema",
                    reason=reason,
                )
            self.finish_reason = FINISH_REASONS.get(reason, "stop")
        parts = (candidate.get("content") or {}).get("parts")
        return self._parts_delta(parts) if parts else None

    def _take_identity(self, event: Mapping[str, Any]) -> None:
        response_id = event.get("responseId")
        if isinstance(response_id, str) and response_id:
            self.response_id = "chatcmpl-" + response_id
        created = _unix_time(event.get("createTime"))
        if created is not None:
            self.created = created

    def _parts_delta(self, parts: list[Mapping[str, Any]]) -> dict[str, Any] | None:
        if len(parts) == 1 and len(parts[0]) == 1 and type(only := parts[0].get("text")) is str:
            if not only:  # most events: one plain text part, and nothing to look at but its text
                return None
            self.has_content = True
            return {"content": only}
        text: list[str] = []
        thoughts: list[str] = []
        calls: list[dict[str, Any]] = []
        images: list[dict[str, Any]] = []
        for part in parts:
            signature = part.get("thoughtSignature") or part.get("thought_signature")
            if "functionCall" in part:
                calls.append(self._tool_call(part["functionCall"], signature))
                continue
            if signature:
                self._turn_signature = signature
            if part.get("thought"):
                if part.get("text"):
                    thoughts.append(part["text"])
                    self._thinking.append(part["text"])
                continue  # thought images (drafts) and signature-only parts are not output
            if part.get("text"):
                text.append(part["text"])
            elif (inline := part.get("inlineData") or part.get("inline_data")) is not None:
                text.append(self._inline(inline, images, signature))
            elif (code := part.get("executableCode")) is not None:
                language = str(code.get("language") or "").lower().replace("language_unspecified", "")
                text.append(f"\n```{language}\n{code.get('code', '')}\n```\n")
            elif (result := part.get("codeExecutionResult")) is not None:
                text.append(f"\n```output\n{result.get('output', '')}\n```\n")
        delta: dict[str, Any] = {}
        if thoughts:
            delta["reasoning_content"] = "".join(thoughts)
        if text:
            delta["content"] = "".join(text)
            self.has_content = True
        if calls:
            delta["tool_calls"] = calls
        if images:
            delta["images"] = images
        return delta or None

    def _tool_call(self, call: Mapping[str, Any], signature: str | None) -> dict[str, Any]:
        name = call.get("name") or ""
        args = call.get("args") or {}
        strip = self.placeholder_args.get(name)
        if strip and isinstance(args, dict) and strip & args.keys():
            args = {key: value for key, value in args.items() if key not in strip}
        public_id = plain_call_id(call.get("id"))
        if not signature and self.family == "claude":
            signature = self._turn_signature  # Claude signs the thinking block that precedes its calls
        self._call_ids.append(public_id)
        if signature and self.signatures is not None:
            self.signatures.remember_tool_call(public_id, SignedThought(self.family, signature))
        index = self.tool_call_count
        self.tool_call_count += 1
        self.has_content = True
        return {
            "index": index,
            "id": public_id,
            "type": "function",
            "function": {"name": self.tool_names.get(name, name), "arguments": orjson.dumps(args).decode()},
        }

    def _inline(self, inline: Mapping[str, Any], images: list[dict[str, Any]], signature: str | None) -> str:
        mime = inline.get("mimeType") or inline.get("mime_type") or "application/octet-stream"
        data = inline.get("data") or ""
        if signature and self.signatures is not None:
            self.signatures.remember_media(data, SignedThought(self.family, signature))
        url = f"data:{mime};base64,{data}"
        self.has_content = True
        if not mime.startswith("image/"):
            return f"[{mime} file]({url})"
        images.append({"type": "image_url", "image_url": {"url": url}, "index": self.image_count})
        self.image_count += 1
        return f"![image]({url})"

    def _end(self) -> str:
        """The final `finish_reason`, after checking the upstream really finished; records signatures."""
        self._remember_signatures()
        if self.finish_reason is None:
            raise StreamInterrupted("The upstream stream ended without a finish reason (truncated)")
        if self.tool_call_count:
            return "tool_calls"
        if not self.has_content and self.finish_reason not in _EMPTY_ALLOWED:
            what = "only thoughts" if self._thinking else "no content"
            raise StreamInterrupted(f"The upstream answered with {what}; treating it as a failed response")
        return self.finish_reason

    def _remember_signatures(self) -> None:
        """Claude's thinking signature arrives after the thoughts; keep it with the text it signs."""
        if self.signatures is not None and self._turn_signature is not None:
            self.signatures.remember_turn(self.family, self._turn_signature, self._thinking, self._call_ids)

    def usage_dict(self) -> dict[str, Any]:
        """OpenAI usage; `completion_tokens` includes reasoning tokens, as OpenAI counts them."""
        usage = self.usage or {}
        prompt = int(usage.get("promptTokenCount") or 0)
        thoughts = int(usage.get("thoughtsTokenCount") or 0)
        completion = int(usage.get("candidatesTokenCount") or 0) + thoughts
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": int(usage.get("totalTokenCount") or 0) or prompt + completion,
            "prompt_tokens_details": {"cached_tokens": int(usage.get("cachedContentTokenCount") or 0)},
            "completion_tokens_details": {"reasoning_tokens": thoughts},
        }


def _unix_time(value: Any) -> int | None:
    """RFC 3339 (`2026-01-10T01:55:33.450396Z`, nanoseconds allowed) → unix seconds."""
    if not isinstance(value, str) or not value:
        return None
    text = value.replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        text = f"{head}.{rest[: min(digits, 6)]}{rest[digits:]}"
    try:
        return int(datetime.fromisoformat(text).timestamp())
    except ValueError:
        return None


_PLAIN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def plain_call_id(upstream_id: Any) -> str:
    """The tool-call id a client sees: the upstream's when it is short and plain (at most 64
    characters of `[A-Za-z0-9_-]`, which strict clients require), else a stable digest of it, else
    a fresh one. Signatures no longer ride in ids: the signature store keeps them (issue 13)."""
    if isinstance(upstream_id, str) and upstream_id:
        if _PLAIN_ID.fullmatch(upstream_id):
            return upstream_id
        return "call_" + hashlib.sha256(upstream_id.encode()).hexdigest()[:24]
    return f"call_{new_id()[8:]}"
