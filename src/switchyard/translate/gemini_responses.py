"""Canonical Gemini response events → an OpenAI Responses `response` and its streaming events.

One translator serves both modes: `_apply` turns one upstream event into Responses events (dicts)
and grows `output`; `feed` frames those events as SSE, `build_response` drops them and returns the
finished `response`. Both end in `_end`, which, as the chat translator does, treats a stream without
a finish reason, with only thoughts, or a malformed function call as an error (field-notes 5).

Output items, in the order the upstream produced them: at most one `reasoning` item per response
(the thoughts as summary text when the client asked for summaries; its `encrypted_content` carries
the turn's signatures, `reasoning_codec`), `message` items for text, `function_call` items, and
`custom_tool_call` items for calls of the request's custom tools. The reasoning item closes just
before the first item after it, so the signature of a Gemini 3 call that follows can go into it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from switchyard.errors import StreamInterrupted, SwitchyardError
from switchyard.ids import new_id
from switchyard.translate.gemini_openai import FINISH_REASONS
from switchyard.translate.profile import Family
from switchyard.translate.reasoning_codec import ReasoningReplay, encode_reasoning
from switchyard.translate.responses_gemini import CUSTOM_INPUT
from switchyard.translate.signatures import SignatureCache, SignedThought

Event = dict[str, Any]
_INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


@dataclass(slots=True)
class ResponsesStream:
    """The state of one response being translated. `echo` holds the request fields a `response`
    object repeats (instructions, tools, ...); `output` the finished items, encrypted content included
    (the store keeps them whole; `public` strips what the client did not ask for)."""

    model: str
    family: Family
    echo: dict[str, Any] = field(default_factory=dict)
    custom_tools: frozenset[str] = frozenset()
    namespaces: Mapping[str, str] = field(default_factory=dict)
    tool_names: Mapping[str, str] = field(default_factory=dict)
    placeholder_args: Mapping[str, frozenset[str]] = field(default_factory=dict)
    include_encrypted: bool = False
    summaries: bool = False
    signatures: SignatureCache | None = None
    response_id: str = field(default_factory=lambda: "resp_" + new_id())
    created_at: int = field(default_factory=lambda: int(time.time()))

    output: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, Any] | None = None
    finish_reason: str | None = None
    final: dict[str, Any] | None = None
    """The finished `response` (client view), once `finish`/`build_response` ran."""
    has_content: bool = False
    _sequence: int = 0
    _started: bool = False
    _open: dict[str, Any] | None = None
    _text: list[str] = field(default_factory=list)
    _thinking: list[str] = field(default_factory=list)
    _turn_signature: str | None = None
    _reasoning_done: bool = False
    _call_ids: list[str] = field(default_factory=list)

    # -- the two modes -------------------------------------------------------------------------

    def start(self) -> list[bytes]:
        """`response.created` and `response.in_progress`: the first frames of every stream."""
        return [self._frame(event) for event in self._start_events()]

    def feed(self, event: Mapping[str, Any]) -> list[bytes]:
        return [self._frame(out) for out in self._apply(event)]

    def finish(self) -> list[bytes]:
        """The closing frames, ending in `response.completed` (or `.incomplete`)."""
        return [self._frame(out) for out in self._finish_events()]

    def fail(self, error: SwitchyardError) -> list[bytes]:
        """`response.failed`: how a stream that already started reports an error."""
        response = self.response("failed")
        response["error"] = {"code": error.openai_code or error.openai_type, "message": error.message}
        return [self._frame({"type": "response.failed", "response": response})]

    def build_response(self, events: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
        """The finished `response` for all upstream events (the rules of the stream)."""
        for event in events:
            self._apply(event)
        final = self._finish_events()[-1]
        result: dict[str, Any] = final["response"]
        return result

    # -- the response object -------------------------------------------------------------------

    def response(self, status: str) -> dict[str, Any]:
        """The `response` object as it stands, with only what the client may see."""
        reason = _INCOMPLETE.get(self.finish_reason or "") if status == "incomplete" else None
        return {
            "id": self.response_id,
            "object": "response",
            "created_at": self.created_at,
            "status": status,
            "error": None,
            "incomplete_details": {"reason": reason} if reason else None,
            "model": self.model,
            "output": [self.public(item) for item in self.output] if status != "in_progress" else [],
            **self.echo,
            "usage": self.usage_dict() if status in ("completed", "incomplete") else None,
        }

    def public(self, item: dict[str, Any]) -> dict[str, Any]:
        if item["type"] != "reasoning" or self.include_encrypted:
            return item
        return {key: value for key, value in item.items() if key != "encrypted_content"}

    def usage_dict(self) -> dict[str, Any]:
        usage = self.usage or {}
        prompt = int(usage.get("promptTokenCount") or 0)
        thoughts = int(usage.get("thoughtsTokenCount") or 0)
        output = int(usage.get("candidatesTokenCount") or 0) + thoughts
        return {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output,
            "output_tokens_details": {"reasoning_tokens": thoughts},
            "total_tokens": prompt + output,
        }

    # -- translation ---------------------------------------------------------------------------

    def _start_events(self) -> list[Event]:
        if self._started:
            return []
        self._started = True
        return [
            {"type": "response.created", "response": self.response("in_progress")},
            {"type": "response.in_progress", "response": self.response("in_progress")},
        ]

    def _apply(self, event: Mapping[str, Any]) -> list[Event]:
        out = self._start_events()
        if event.get("usageMetadata"):
            self.usage = event["usageMetadata"]
        candidates = event.get("candidates")
        if not candidates:
            feedback = event.get("promptFeedback")
            if isinstance(feedback, dict) and feedback.get("blockReason"):
                self.finish_reason = "content_filter"
            return out
        candidate = candidates[0]
        reason = candidate.get("finishReason")
        if reason == "MALFORMED_FUNCTION_CALL":
            raise StreamInterrupted(
                "The upstream model produced a malformed function call (MALFORMED_FUNCTION_CALL); "
                "retry, or simplify the tool schema",
                reason=reason,
            )
        if reason:
            self.finish_reason = FINISH_REASONS.get(reason, "stop")
        for part in (candidate.get("content") or {}).get("parts") or ():
            out += self._part(part)
        return out

    def _part(self, part: Mapping[str, Any]) -> list[Event]:
        signature = part.get("thoughtSignature") or part.get("thought_signature")
        if "functionCall" in part:
            call = part["functionCall"]
            call_id = str(call.get("id") or "call_" + new_id()[8:])
            return self._close_reasoning(call_id, signature) + self._call(call, call_id, signature)
        if signature:
            self._turn_signature = signature
        if part.get("thought"):
            text = part.get("text")
            return self._thought(text) if isinstance(text, str) and text else []
        text = _visible_text(part)
        if not text:
            return []
        out = self._close_reasoning(None, None)
        if self._open is None or self._open["item"]["type"] != "message":
            out += self._close_open()
            item_id = "msg_" + new_id()
            item = {
                "id": item_id,
                "type": "message",
                "status": "in_progress",
                "role": "assistant",
                "content": [],
            }
            out.append(self._added(item))
            out.append(
                {
                    **self._where(),
                    "type": "response.content_part.added",
                    "content_index": 0,
                    "part": _text_part(""),
                }
            )
        self._text.append(text)
        self.has_content = True
        out.append(
            {
                **self._where(),
                "type": "response.output_text.delta",
                "content_index": 0,
                "delta": text,
                "logprobs": [],
            }
        )
        return out

    def _thought(self, text: str) -> list[Event]:
        self._thinking.append(text)
        if self._reasoning_done:
            return []  # thoughts after the answer began (rare): kept for the signature, not shown
        out: list[Event] = []
        if self._open is None or self._open["item"]["type"] != "reasoning":
            out += self._close_open()
            item = {"id": "rs_" + new_id(), "type": "reasoning", "summary": []}
            out.append(self._added(item))
            if self.summaries:
                out.append(
                    {
                        **self._where(),
                        "type": "response.reasoning_summary_part.added",
                        "summary_index": 0,
                        "part": {"type": "summary_text", "text": ""},
                    }
                )
        if self.summaries:
            out.append(
                {
                    **self._where(),
                    "type": "response.reasoning_summary_text.delta",
                    "summary_index": 0,
                    "delta": text,
                }
            )
        return out

    def _close_reasoning(self, call_id: str | None, signature: str | None) -> list[Event]:
        """Close (or, to carry a signature, create) the response's one reasoning item."""
        if self._reasoning_done:
            return []
        is_open = self._open is not None and self._open["item"]["type"] == "reasoning"
        if not is_open and not self._turn_signature and not signature:
            return []
        self._reasoning_done = True
        out: list[Event] = []
        if not is_open:
            out += self._close_open()
            out.append(self._added({"id": "rs_" + new_id(), "type": "reasoning", "summary": []}))
        assert self._open is not None
        item = self._open["item"]
        thinking = "".join(self._thinking)
        if self.summaries and thinking:
            summary = {"type": "summary_text", "text": thinking}
            item["summary"] = [summary]
            out.append(
                {
                    **self._where(),
                    "type": "response.reasoning_summary_text.done",
                    "summary_index": 0,
                    "text": thinking,
                }
            )
            out.append(
                {
                    **self._where(),
                    "type": "response.reasoning_summary_part.done",
                    "summary_index": 0,
                    "part": summary,
                }
            )
        calls = {call_id: signature} if call_id and signature else {}
        replay = ReasoningReplay(self.family, self._turn_signature, thinking or None, calls)
        item["encrypted_content"] = encode_reasoning(replay)
        self._remember(replay)
        out.append(self._done())
        return out

    def _call(self, call: Mapping[str, Any], call_id: str, signature: str | None) -> list[Event]:
        out = self._close_open()
        upstream_name = str(call.get("name") or "")
        name = self.tool_names.get(upstream_name, upstream_name)
        args = call.get("args") or {}
        strip = self.placeholder_args.get(upstream_name)
        if strip and isinstance(args, dict):
            args = {key: value for key, value in args.items() if key not in strip}
        self._call_ids.append(call_id)
        if signature and self.signatures is not None and self.family != "claude":
            self.signatures.remember_tool_call(call_id, SignedThought(self.family, signature))
        self.has_content = True
        if name in self.custom_tools:
            value = args.get(CUSTOM_INPUT) if isinstance(args, dict) else None
            text = value if isinstance(value, str) else orjson.dumps(args).decode()
            item = {
                "id": "ctc_" + new_id(),
                "type": "custom_tool_call",
                "status": "in_progress",
                "call_id": call_id,
                "name": name,
                "input": "",
            }
            kind, key = "response.custom_tool_call_input", "input"
        else:
            text = orjson.dumps(args).decode()
            item = {
                "id": "fc_" + new_id(),
                "type": "function_call",
                "status": "in_progress",
                "arguments": "",
                "call_id": call_id,
                "name": name,
            }
            if name in self.namespaces:
                item["namespace"] = self.namespaces[name]
            kind, key = "response.function_call_arguments", "arguments"
        out.append(self._added(item))
        out.append({**self._where(), "type": kind + ".delta", "delta": text})
        out.append(
            {
                **self._where(),
                "type": kind + ".done",
                key: text,
                **({"name": name} if key == "arguments" else {}),
            }
        )
        item[key] = text
        item["status"] = "completed"
        out.append(self._done())
        return out

    # -- items ---------------------------------------------------------------------------------

    def _added(self, item: dict[str, Any]) -> Event:
        self._open = {"item": item, "index": len(self.output)}
        self.output.append(item)
        return {"type": "response.output_item.added", "output_index": self._open["index"], "item": dict(item)}

    def _where(self) -> dict[str, Any]:
        assert self._open is not None
        return {"item_id": self._open["item"]["id"], "output_index": self._open["index"]}

    def _done(self) -> Event:
        assert self._open is not None
        event = {
            "type": "response.output_item.done",
            "output_index": self._open["index"],
            "item": self.public(self._open["item"]),
        }
        self._open = None
        return event

    def _close_open(self) -> list[Event]:
        """Finish the item in progress (a message's text is final once another item starts)."""
        if self._open is None:
            return []
        item = self._open["item"]
        if item["type"] == "reasoning":
            return self._close_reasoning(None, None) if not self._reasoning_done else [self._done()]
        if item["type"] != "message":
            return [self._done()]
        text = "".join(self._text)
        self._text = []
        item["content"] = [_text_part(text)]
        item["status"] = "completed"
        where = self._where()
        return [
            {**where, "type": "response.output_text.done", "content_index": 0, "text": text, "logprobs": []},
            {**where, "type": "response.content_part.done", "content_index": 0, "part": _text_part(text)},
            self._done(),
        ]

    def _finish_events(self) -> list[Event]:
        out = self._start_events() + self._close_reasoning(None, None) + self._close_open()
        status = self._end()
        kind = "response.completed" if status == "completed" else "response.incomplete"
        self.final = self.response(status)
        return [*out, {"type": kind, "response": self.final}]

    def _end(self) -> str:
        if self.finish_reason is None:
            raise StreamInterrupted("The upstream stream ended without a finish reason (truncated)")
        if self.finish_reason in _INCOMPLETE:
            return "incomplete"
        if not self.has_content:
            what = "only thoughts" if self._thinking else "no content"
            raise StreamInterrupted(f"The upstream answered with {what}; treating it as a failed response")
        return "completed"

    def _remember(self, replay: ReasoningReplay) -> None:
        """Also keep the signatures in the shared cache, for clients that drop reasoning items."""
        if self.signatures is None or replay.signature is None:
            return
        thought = SignedThought(self.family, replay.signature, replay.thinking)
        if replay.thinking:
            self.signatures.remember_thinking(replay.thinking, thought)

    def _frame(self, event: Event) -> bytes:
        event["sequence_number"] = self._sequence
        self._sequence += 1
        return b"event: " + event["type"].encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _visible_text(part: Mapping[str, Any]) -> str:
    """The text a non-thought part shows: text, generated media as a markdown data URL, code."""
    if isinstance(part.get("text"), str):
        return str(part["text"])
    inline = part.get("inlineData") or part.get("inline_data")
    if isinstance(inline, dict):
        mime = inline.get("mimeType") or inline.get("mime_type") or "application/octet-stream"
        url = f"data:{mime};base64,{inline.get('data') or ''}"
        return f"![image]({url})" if str(mime).startswith("image/") else f"[{mime} file]({url})"
    if isinstance(code := part.get("executableCode"), dict):
        return f"\n```{str(code.get('language') or '').lower()}\n{code.get('code', '')}\n```\n"
    if isinstance(result := part.get("codeExecutionResult"), dict):
        return f"\n```output\n{result.get('output', '')}\n```\n"
    return ""
