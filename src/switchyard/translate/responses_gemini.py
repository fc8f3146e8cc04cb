"""OpenAI Responses request → OpenAI chat body → canonical Gemini request.

Why through the chat body: the chat translators already pair tool calls with results, replay
thought signatures by family, clean schemas, map sampling and thinking, and read media parts; a
Responses request is the same conversation spelled as items. `to_chat_body` respells it (pure, no
copy of media beyond the parts list), and `to_gemini_request_from_responses` hands it on. The Gemini
web provider takes the same chat body (`flatten`), so both providers share this one step.

What only Responses has:
- `reasoning` items: their `encrypted_content` (`reasoning_codec`) carries the thought signatures we
  issued, so a `store: false` client that replays its items keeps Gemini 3 and Claude tool loops
  valid across restarts and gateway instances. They are loaded into a per-request overlay over the
  shared `SignatureCache`, never into the shared cache (a client must not plant entries for others).
- `custom` tools (Codex's `apply_patch`, a free-form string under a grammar) are offered upstream as
  a function taking one string `input`; the response side answers them as `custom_tool_call`.
- Hosted tools the gateway cannot run (`web_search`, `file_search`, ...) are a 400 naming the tool.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from switchyard.errors import InvalidRequest
from switchyard.translate.fields import wrong_type
from switchyard.translate.media import Media
from switchyard.translate.openai_gemini import to_gemini_request
from switchyard.translate.profile import ModelProfile
from switchyard.translate.reasoning_codec import decode_reasoning
from switchyard.translate.signatures import SignatureCache, SignedThought

CUSTOM_INPUT = "input"
"""The one string argument a custom tool is offered upstream with."""

HOSTED_TOOLS = frozenset(
    {
        "web_search",
        "web_search_preview",
        "web_search_preview_2025_03_11",
        "file_search",
        "code_interpreter",
        "computer_use",
        "computer_use_preview",
        "image_generation",
        "mcp",
        "local_shell",
    }
)
_CHAT_PASSTHROUGH = ("temperature", "top_p", "model", "stream")
_MESSAGE_ROLES = ("user", "assistant", "system", "developer")
_OUTPUT_CALLS = ("function_call", "custom_tool_call")
_OUTPUT_RESULTS = ("function_call_output", "custom_tool_call_output")


@dataclass(slots=True)
class ChatConversion:
    """A Responses request respelled as a chat body, plus what the chat body cannot say."""

    body: dict[str, Any]
    custom_tools: frozenset[str] = frozenset()
    signatures: dict[str, SignedThought] = field(default_factory=dict)
    """tool-call id → signature, from replayed reasoning items."""
    thinking: list[SignedThought] = field(default_factory=list)
    """signed thinking blocks (Claude), from replayed reasoning items."""
    namespaces: dict[str, str] = field(default_factory=dict)
    """function name → the `namespace` tool that declared it (its calls name it back)."""
    dropped_tools: list[str] = field(default_factory=list)
    """hosted tools the client marked optional, left out of the upstream request."""


class OverlaySignatures(SignatureCache):
    """The shared cache, seen through this request's own replayed signatures first."""

    def __init__(self, shared: SignatureCache | None, conversion: ChatConversion) -> None:
        super().__init__(max_entries=max(1, len(conversion.signatures) + len(conversion.thinking)))
        self._shared = shared
        for call_id, thought in conversion.signatures.items():
            super().remember_tool_call(call_id, thought)
        for thought in conversion.thinking:
            if thought.thinking is not None:
                super().remember_thinking(thought.thinking, thought)

    def tool_call(self, tool_call_id: str, family: Any) -> SignedThought | None:
        own = super().tool_call(tool_call_id, family)
        return (
            own if own is not None or self._shared is None else self._shared.tool_call(tool_call_id, family)
        )

    def thinking(self, thinking: str, family: Any) -> SignedThought | None:
        own = super().thinking(thinking, family)
        return own if own is not None or self._shared is None else self._shared.thinking(thinking, family)

    def media(self, data_b64: str, family: Any) -> SignedThought | None:
        return None if self._shared is None else self._shared.media(data_b64, family)


def to_gemini_request_from_responses(
    conversion: ChatConversion,
    *,
    model: ModelProfile,
    resolved_media: Mapping[str, Media] | None = None,
    signatures: SignatureCache | None = None,
) -> dict[str, Any]:
    """The canonical Gemini request for a converted Responses body."""
    overlay = OverlaySignatures(signatures, conversion)
    return to_gemini_request(conversion.body, model=model, resolved_media=resolved_media, signatures=overlay)


def to_chat_body(body: Mapping[str, Any], history: list[dict[str, Any]] | None = None) -> ChatConversion:
    """The chat body for a Responses request; `history` is the items of `previous_response_id`
    (its input and output, already in item form) that come before this request's `input`."""
    items = [*(history or []), *input_items(body)]
    found = _Tools()
    found.read(body.get("tools"), "tools")
    tools, custom = found.tools, found.custom
    chat: dict[str, Any] = {key: body[key] for key in _CHAT_PASSTHROUGH if body.get(key) is not None}
    builder = _Messages()
    instructions = body.get("instructions")
    if instructions is not None:
        if not isinstance(instructions, str):
            raise wrong_type("instructions", "a string", instructions)
        if instructions:
            builder.messages.append({"role": "system", "content": instructions})
    for index, item in enumerate(items):
        builder.add(item, f"input[{index - len(history or [])}]", custom)
    if not items:
        raise InvalidRequest("'input' holds no content to send", param="input")
    chat["messages"] = builder.messages
    if tools:
        chat["tools"] = tools
    choice = _tool_choice(body.get("tool_choice"))
    if choice is not None:
        chat["tool_choice"] = choice
    _sampling(body, chat)
    return ChatConversion(
        chat, frozenset(custom), builder.signatures, builder.thinking, found.namespaces, found.dropped
    )


def input_items(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`input` as a list of items (a string is one user message)."""
    raw = body.get("input")
    if raw is None:
        return []
    if isinstance(raw, str):
        return [{"type": "message", "role": "user", "content": raw}]
    if not isinstance(raw, list):
        raise wrong_type("input", "a string or an array of input items", raw)
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise wrong_type(f"input[{index}]", "an object", item)
    return raw


class _Messages:
    """Items → chat messages: consecutive assistant-side items (reasoning, output messages, calls)
    become one assistant message, as one upstream model turn."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.signatures: dict[str, SignedThought] = {}
        self.thinking: list[SignedThought] = []
        self._assistant: dict[str, Any] | None = None

    def _open_assistant(self) -> dict[str, Any]:
        if self._assistant is None:
            self._assistant = {"role": "assistant", "content": None}
            self.messages.append(self._assistant)
        return self._assistant

    def add(self, item: dict[str, Any], param: str, custom: set[str]) -> None:
        kind = item.get("type", "message" if "role" in item else None)
        if kind == "message":
            self._message(item, param)
        elif kind == "reasoning":
            self._reasoning(item, param)
        elif kind in _OUTPUT_CALLS:
            self._call(item, param, custom=kind == "custom_tool_call")
        elif kind in _OUTPUT_RESULTS:
            self._assistant = None
            self.messages.append(_result(item, param))
        elif kind == "item_reference":
            raise InvalidRequest(
                f"'{param}': item references are not supported; send the item itself, or use "
                "previous_response_id",
                param=param,
            )
        else:
            raise InvalidRequest(f"Unsupported input item type {kind!r} in '{param}'", param=f"{param}.type")

    def _message(self, item: dict[str, Any], param: str) -> None:
        role = item.get("role")
        if role not in _MESSAGE_ROLES:
            raise InvalidRequest(
                f"Invalid value for '{param}.role': {role!r}; expected one of {', '.join(_MESSAGE_ROLES)}",
                param=f"{param}.role",
            )
        content = _content(item.get("content"), f"{param}.content")
        if role == "assistant":
            assistant = self._open_assistant()
            texts = [part["text"] for part in content if part["type"] == "text"]
            assistant["content"] = (assistant["content"] or "") + "".join(texts)
            return
        self._assistant = None
        self.messages.append({"role": role, "content": content})

    def _reasoning(self, item: dict[str, Any], param: str) -> None:
        encrypted = item.get("encrypted_content")
        if encrypted is None:
            return  # a summary alone replays nothing: the upstream needs its signature
        if not isinstance(encrypted, str):
            raise wrong_type(f"{param}.encrypted_content", "a string", encrypted)
        replay = decode_reasoning(encrypted, param=f"{param}.encrypted_content")
        assistant = self._open_assistant()
        if replay.thinking is not None and replay.signature is not None:
            assistant["reasoning_content"] = replay.thinking
            self.thinking.append(SignedThought(replay.family, replay.signature, replay.thinking))
        for call_id, signature in replay.calls.items():
            self.signatures[call_id] = SignedThought(replay.family, signature)

    def _call(self, item: dict[str, Any], param: str, *, custom: bool) -> None:
        name, call_id = item.get("name"), item.get("call_id")
        if not isinstance(name, str) or not name:
            raise InvalidRequest(f"'{param}.name' must be a non-empty string", param=f"{param}.name")
        if not isinstance(call_id, str) or not call_id:
            raise InvalidRequest(f"'{param}.call_id' must be a non-empty string", param=f"{param}.call_id")
        if custom:
            raw = item.get(CUSTOM_INPUT)
            if not isinstance(raw, str):
                raise wrong_type(f"{param}.input", "a string", raw)
            arguments = orjson.dumps({CUSTOM_INPUT: raw}).decode()
        else:
            arguments = item.get("arguments", "")
            if not isinstance(arguments, str):
                raise wrong_type(f"{param}.arguments", "a JSON string", arguments)
        assistant = self._open_assistant()
        call = {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
        assistant.setdefault("tool_calls", []).append(call)


def _result(item: dict[str, Any], param: str) -> dict[str, Any]:
    call_id = item.get("call_id")
    if not isinstance(call_id, str) or not call_id:
        raise InvalidRequest(f"'{param}.call_id' must be a non-empty string", param=f"{param}.call_id")
    output = item.get("output")
    if isinstance(output, list):
        output = "".join(
            part.get("text", "")
            for part in output
            if isinstance(part, dict) and part.get("type") in ("input_text", "output_text", "text")
        )
    if not isinstance(output, str):
        raise wrong_type(f"{param}.output", "a string or an array of text parts", output)
    return {"role": "tool", "tool_call_id": call_id, "content": output}


def _content(content: Any, param: str) -> list[dict[str, Any]]:
    """Responses content (a string or parts) → chat content parts."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise wrong_type(param, "a string or an array of content parts", content)
    parts: list[dict[str, Any]] = []
    for index, part in enumerate(content):
        where = f"{param}[{index}]"
        if not isinstance(part, dict):
            raise wrong_type(where, "an object", part)
        kind = part.get("type")
        if kind in ("input_text", "output_text", "text"):
            text = part.get("text")
            if not isinstance(text, str):
                raise wrong_type(f"{where}.text", "a string", text)
            parts.append({"type": "text", "text": text})
        elif kind == "refusal":
            parts.append({"type": "text", "text": str(part.get("refusal") or "")})
        elif kind == "input_image":
            url = part.get("image_url")
            if not isinstance(url, str) or not url:
                field_name = "file_id" if part.get("file_id") else "image_url"
                raise InvalidRequest(
                    f"'{where}.{field_name}': only 'image_url' (an http(s) or data: URL) is supported",
                    param=f"{where}.{field_name}",
                )
            parts.append({"type": "image_url", "image_url": {"url": url}})
        elif kind == "input_file":
            if part.get("file_url") is not None and part.get("file_data") is None:
                parts.append({"type": "image_url", "image_url": {"url": part["file_url"]}})
                continue
            payload = {k: part[k] for k in ("file_data", "file_id", "filename") if part.get(k) is not None}
            parts.append({"type": "file", "file": payload})
        else:
            raise InvalidRequest(f"Unsupported content part type {kind!r}", param=f"{where}.type")
    return parts


class _Tools:
    """Responses tools → chat tools. `namespace` tools (Codex groups sub-agent tools so) are
    flattened into their functions; hosted tools are refused by name, except `web_search` marked
    `external_web_access: false` (Codex's default: the client accepts a turn without live search),
    which is dropped and reported."""

    def __init__(self) -> None:
        self.tools: list[dict[str, Any]] = []
        self.custom: set[str] = set()
        self.namespaces: dict[str, str] = {}
        self.dropped: list[str] = []

    def read(self, raw: Any, where: str, namespace: str | None = None) -> None:
        if raw is None:
            return
        if not isinstance(raw, list):
            raise wrong_type(where, "an array", raw)
        for index, tool in enumerate(raw):
            param = f"{where}[{index}]"
            if not isinstance(tool, dict):
                raise wrong_type(param, "an object", tool)
            kind = tool.get("type")
            if (
                isinstance(kind, str)
                and kind.startswith("web_search")
                and tool.get("external_web_access") is False
            ):
                self.dropped.append(kind)
                continue
            if kind in HOSTED_TOOLS or (
                isinstance(kind, str) and kind.startswith(("web_search", "computer"))
            ):
                raise InvalidRequest(
                    f"The hosted tool '{kind}' cannot run on this gateway; remove it from 'tools' "
                    "(only 'function', 'custom' and 'namespace' tools are supported)",
                    param=f"{param}.type",
                    code="unsupported_tool",
                )
            if kind == "namespace" and isinstance(tool.get("name"), str):
                self.read(tool.get("tools"), f"{param}.tools", tool["name"])
                continue
            self._function(tool, kind, param, namespace)

    def _function(self, tool: dict[str, Any], kind: Any, param: str, namespace: str | None) -> None:
        name = tool.get("name")
        if kind not in ("function", "custom"):
            raise InvalidRequest(f"Unsupported tool type {kind!r}", param=f"{param}.type")
        if not isinstance(name, str) or not name:
            raise InvalidRequest(f"'{param}.name' must be a non-empty string", param=f"{param}.name")
        function: dict[str, Any] = {"name": name}
        description = tool.get("description")
        if kind == "custom":
            self.custom.add(name)
            function["parameters"] = {
                "type": "object",
                "properties": {CUSTOM_INPUT: {"type": "string", "description": _grammar_hint(tool)}},
                "required": [CUSTOM_INPUT],
            }
        elif tool.get("parameters") is not None:
            function["parameters"] = tool["parameters"]
        if isinstance(description, str) and description:
            function["description"] = description
        if namespace is not None:
            self.namespaces[name] = namespace
        self.tools.append({"type": "function", "function": function})


def _grammar_hint(tool: Mapping[str, Any]) -> str:
    """The custom tool's input format, told to the model in words (the upstream has no grammars)."""
    spec = tool.get("format")
    if not isinstance(spec, dict) or spec.get("type") != "grammar":
        return "The tool's free-form input text."
    syntax, definition = spec.get("syntax", "lark"), spec.get("definition", "")
    return f"The tool's input text. It must match this {syntax} grammar exactly:\n{definition}"


def _tool_choice(choice: Any) -> Any:
    if choice is None or choice in ("auto", "none", "required"):
        return choice
    if isinstance(choice, dict):
        kind = choice.get("type")
        if kind in ("function", "custom") and isinstance(choice.get("name"), str):
            return {"type": "function", "function": {"name": choice["name"]}}
        if kind == "allowed_tools":
            mode = choice.get("mode", "auto")
            return "required" if mode == "required" else "auto"
        if kind in HOSTED_TOOLS:
            raise InvalidRequest(
                f"'tool_choice' names the hosted tool '{kind}', which cannot run on this gateway",
                param="tool_choice",
                code="unsupported_tool",
            )
    raise InvalidRequest(
        "Invalid 'tool_choice': expected 'none', 'auto', 'required' or {'type':'function','name':...}",
        param="tool_choice",
    )


def _sampling(body: Mapping[str, Any], chat: dict[str, Any]) -> None:
    """`max_output_tokens`, `reasoning.effort` and `text.format` in their chat spelling."""
    if body.get("max_output_tokens") is not None:
        chat["max_completion_tokens"] = body["max_output_tokens"]
    reasoning = body.get("reasoning")
    if reasoning is not None:
        if not isinstance(reasoning, dict):
            raise wrong_type("reasoning", "an object", reasoning)
        if reasoning.get("effort") is not None:
            chat["reasoning_effort"] = reasoning["effort"]
    text = body.get("text")
    if text is None:
        return
    if not isinstance(text, dict):
        raise wrong_type("text", "an object", text)
    spec = text.get("format")
    if spec is None:
        return
    if not isinstance(spec, dict):
        raise wrong_type("text.format", "an object", spec)
    kind = spec.get("type")
    if kind == "json_schema":
        schema = spec.get("schema")
        if not isinstance(schema, dict):
            raise InvalidRequest("'text.format.schema' must be an object", param="text.format.schema")
        chat["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": spec.get("name"), "schema": schema},
        }
    elif kind in ("json_object", "text"):
        chat["response_format"] = {"type": kind}
    else:
        raise InvalidRequest(
            f"Invalid 'text.format.type' {kind!r}: expected 'text', 'json_object' or 'json_schema'",
            param="text.format.type",
        )
