"""Anthropic Messages request → canonical Gemini `GenerateContentRequest` (api-contract.md).

`to_gemini_request_from_anthropic` is pure: the Messages body in, a plain dict out, `InvalidRequest`
naming the field for anything the upstream cannot represent. The rules:

- `system` (a string or text blocks) → `systemInstruction`; `user` → `user`, `assistant` → `model`,
  consecutive turns of one role merged (a conversation that starts with `model` gets an empty user
  turn first, except on Claude, as in the OpenAI translator).
- `image` and `document` blocks (base64, url, or a document's plain `text`) → `inlineData`; URLs
  were downloaded by the surface beforehand (`resolved_media`).
- `tool_use` → `functionCall` with its id; `tool_result` → `functionResponse` (`is_error` puts the
  text under `error` instead of `result`; images inside a result follow it as media parts).
- Thinking (field-notes 2 and 3): Anthropic clients replay our thinking blocks exactly. A Claude
  model gets its own signed blocks back byte for byte; unsigned, empty or foreign-signed blocks are
  dropped, never signed with something invented. `redacted_thinking` has no Gemini-shaped field, so
  it is dropped too. Gemini models get a block back only with a signature they issued (tagged,
  `signatures.tag_signature`); a replayed call gets its signature from its id or the cache, else
  the sentinel on a Gemini 3 turn's first call, as the OpenAI translator does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from switchyard.errors import InvalidRequest
from switchyard.translate.anthropic_config import (
    AnthropicTools,
    anthropic_generation_config,
    anthropic_tools,
    tools_and_config,
)
from switchyard.translate.fields import wrong_type
from switchyard.translate.media import Media, resolve_mime
from switchyard.translate.openai_parts import is_http_url
from switchyard.translate.openai_tools import ToolSet
from switchyard.translate.profile import ModelProfile
from switchyard.translate.signatures import (
    SKIP_SIGNATURE,
    SignatureCache,
    decode_signature_from_id,
    untag_signature,
)

_NO_MEDIA: Mapping[str, Media] = {}
IGNORED_BLOCKS = frozenset({"redacted_thinking"})


def to_gemini_request_from_anthropic(
    body: Mapping[str, Any],
    *,
    model: ModelProfile,
    resolved_media: Mapping[str, Media] | None = None,
    signatures: SignatureCache | None = None,
    tools: AnthropicTools | None = None,
) -> dict[str, Any]:
    """The canonical Gemini request for a Messages body (see the module docstring)."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise wrong_type("messages", "an array", messages)
    if not messages:
        raise InvalidRequest("'messages' must contain at least one message", param="messages")
    tools = tools if tools is not None else anthropic_tools(body)
    toolset, tool_config = tools_and_config(body, tools, model=model)
    history = _History(model, toolset, resolved_media or _NO_MEDIA, signatures)
    for index, message in enumerate(messages):
        history.add(index, message)
    request: dict[str, Any] = {"contents": history.finish()}
    system = _system_parts(body.get("system"))
    if system:
        request["systemInstruction"] = {"role": "user", "parts": system}
    if toolset.tools:
        request["tools"] = toolset.tools
    if tool_config is not None:
        request["toolConfig"] = tool_config
    config = anthropic_generation_config(body, model=model)
    if config:
        request["generationConfig"] = config
    return request


def media_urls_of(body: Mapping[str, Any]) -> list[str]:
    """Every http(s) `url` source of an image or document block, in order, without duplicates."""
    found: list[str] = []
    messages = body.get("messages")
    for message in messages if isinstance(messages, list) else ():
        content = message.get("content") if isinstance(message, dict) else None
        for block in _nested_blocks(content):
            source = block.get("source")
            if isinstance(source, dict) and source.get("type") == "url":
                url = source.get("url")
                if isinstance(url, str) and is_http_url(url) and url not in found:
                    found.append(url)
    return found


def _nested_blocks(content: Any) -> list[dict[str, Any]]:
    blocks = [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []
    inner = [
        b
        for block in blocks
        if block.get("type") == "tool_result"
        for b in _nested_blocks(block.get("content"))
    ]
    return blocks + inner


def _system_parts(system: Any) -> list[dict[str, Any]]:
    if system is None:
        return []
    if isinstance(system, str):
        return [{"text": system}] if system else []
    if not isinstance(system, list):
        raise wrong_type("system", "a string or an array of text blocks", system)
    parts = []
    for index, block in enumerate(system):
        if (
            not isinstance(block, dict)
            or block.get("type") != "text"
            or not isinstance(block.get("text"), str)
        ):
            raise InvalidRequest(f"'system[{index}]' must be a text block", param=f"system[{index}]")
        if block["text"]:
            parts.append({"text": block["text"]})
    return parts


class _History:
    """Builds `contents` message by message; remembers tool names so results can be paired."""

    def __init__(
        self,
        model: ModelProfile,
        toolset: ToolSet,
        media: Mapping[str, Media],
        signatures: SignatureCache | None,
    ) -> None:
        self.model, self.toolset, self.media, self.signatures = model, toolset, media, signatures
        self.contents: list[dict[str, Any]] = []
        self.call_names: dict[str, str] = {}

    def add(self, index: int, message: Any) -> None:
        param = f"messages[{index}]"
        if not isinstance(message, dict):
            raise wrong_type(param, "an object", message)
        role = message.get("role")
        if role not in ("user", "assistant"):
            raise InvalidRequest(
                f"Invalid value for '{param}.role': {role!r}; expected user or assistant",
                param=f"{param}.role",
            )
        content = message.get("content")
        if isinstance(content, str):
            blocks: list[Any] = [{"type": "text", "text": content}]
        elif isinstance(content, list):
            blocks = content
        else:
            raise wrong_type(f"{param}.content", "a string or an array of content blocks", content)
        parts: list[dict[str, Any]] = []
        for position, block in enumerate(blocks):
            parts.extend(self._block(block, role, param=f"{param}.content[{position}]"))
        if role == "assistant":
            self._sign_calls(parts)
        self._append("model" if role == "assistant" else "user", parts)

    def _append(self, role: str, parts: list[dict[str, Any]]) -> None:
        if not parts:
            return
        if self.contents and self.contents[-1]["role"] == role:
            self.contents[-1]["parts"].extend(parts)
        else:
            self.contents.append({"role": role, "parts": parts})

    def finish(self) -> list[dict[str, Any]]:
        if not self.contents:
            raise InvalidRequest("'messages' holds no content to send", param="messages")
        if self.contents[0]["role"] == "model" and not self.model.is_claude:
            self.contents.insert(0, {"role": "user", "parts": [{"text": ""}]})
        return self.contents

    def _block(self, block: Any, role: str, *, param: str) -> list[dict[str, Any]]:
        if not isinstance(block, dict):
            raise wrong_type(param, "an object", block)
        kind = block.get("type")
        if kind == "text":
            text = block.get("text")
            if not isinstance(text, str):
                raise wrong_type(f"{param}.text", "a string", text)
            return [{"text": text}] if text or role == "user" else []
        if kind in ("image", "document") and role == "user":
            return [self._media(block, param=param)]
        if kind == "tool_result" and role == "user":
            return self._tool_result(block, param=param)
        if kind == "tool_use" and role == "assistant":
            return [self._tool_use(block, param=param)]
        if kind == "thinking" and role == "assistant":
            return self._thinking(block, param=param)
        if kind in IGNORED_BLOCKS:
            return []
        raise InvalidRequest(
            f"Unsupported content block type {kind!r} in a {role} message", param=f"{param}.type"
        )

    def _media(self, block: dict[str, Any], *, param: str) -> dict[str, Any]:
        source = block.get("source")
        if not isinstance(source, dict):
            raise wrong_type(f"{param}.source", "an object", source)
        kind = source.get("type")
        if kind == "base64":
            data, declared = source.get("data"), source.get("media_type")
            if not isinstance(data, str) or not data:
                raise InvalidRequest(f"'{param}.source.data' must be base64", param=f"{param}.source.data")
            mime = resolve_mime(declared if isinstance(declared, str) else "", data)
            if mime is None:
                raise InvalidRequest(
                    f"Cannot tell the type of '{param}.source.data'; set 'media_type'",
                    param=f"{param}.source.media_type",
                )
            return Media(mime, data).to_inline_data()
        if kind == "url":
            url = source.get("url")
            media = self.media.get(url) if isinstance(url, str) else None
            if media is None:
                raise InvalidRequest(
                    f"The media URL in '{param}.source.url' could not be fetched", param=f"{param}.source.url"
                )
            return media.to_inline_data()
        if kind == "text" and block.get("type") == "document":
            text = source.get("data")
            if not isinstance(text, str):
                raise wrong_type(f"{param}.source.data", "a string", text)
            return {"text": text}
        raise InvalidRequest(f"Unsupported '{param}.source.type' {kind!r}", param=f"{param}.source.type")

    def _tool_use(self, block: dict[str, Any], *, param: str) -> dict[str, Any]:
        raw_id, name, args = block.get("id"), block.get("name"), block.get("input")
        if not isinstance(raw_id, str) or not raw_id:
            raise InvalidRequest(f"'{param}.id' must be a non-empty string", param=f"{param}.id")
        if not isinstance(name, str) or not name:
            raise InvalidRequest(f"'{param}.name' must be a non-empty string", param=f"{param}.name")
        if args is not None and not isinstance(args, dict):
            raise wrong_type(f"{param}.input", "an object", args)
        call_id, carried = decode_signature_from_id(raw_id)
        upstream = self.toolset.upstream_name(name)
        self.call_names[call_id] = upstream
        part: dict[str, Any] = {"functionCall": {"id": call_id, "name": upstream, "args": args or {}}}
        if not self.model.is_claude:
            known = self.signatures.tool_call(call_id, self.model.family) if self.signatures else None
            if known is None and carried is not None and carried.family == self.model.family:
                known = carried
            if known is not None:
                part["thoughtSignature"] = known.signature
        return part

    def _sign_calls(self, parts: list[dict[str, Any]]) -> None:
        """The sentinel on a Gemini 3 turn's first call when its real signature is unknown (§8.4)."""
        calls = [part for part in parts if "functionCall" in part]
        if calls and self.model.family == "gemini-3" and "thoughtSignature" not in calls[0]:
            calls[0]["thoughtSignature"] = SKIP_SIGNATURE

    def _thinking(self, block: dict[str, Any], *, param: str) -> list[dict[str, Any]]:
        thinking, signature = block.get("thinking"), block.get("signature")
        if not isinstance(thinking, str):
            raise wrong_type(f"{param}.thinking", "a string", thinking)
        if not isinstance(signature, str) or not signature:
            return []  # unsigned: never invent a signature for it
        tagged = untag_signature(signature)
        if self.model.is_claude:
            if tagged is not None or not thinking:
                return []  # another family's block, or an empty one Claude would refuse
            return [{"text": thinking, "thought": True, "thoughtSignature": signature}]
        if tagged is None or tagged.family != self.model.family:
            return []
        return [{"text": thinking, "thought": True, "thoughtSignature": tagged.signature}]

    def _tool_result(self, block: dict[str, Any], *, param: str) -> list[dict[str, Any]]:
        raw_id = block.get("tool_use_id")
        if not isinstance(raw_id, str) or not raw_id:
            raise InvalidRequest(
                f"'{param}.tool_use_id' must be a non-empty string", param=f"{param}.tool_use_id"
            )
        call_id = decode_signature_from_id(raw_id)[0]
        name = self.call_names.get(call_id)
        if name is None:
            raise InvalidRequest(
                f"'{param}.tool_use_id' {raw_id!r} matches no tool_use block of an earlier assistant message",
                param=f"{param}.tool_use_id",
            )
        content = block.get("content")
        texts: list[str] = []
        media: list[dict[str, Any]] = []
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            for position, item in enumerate(content):
                item_param = f"{param}.content[{position}]"
                if (
                    isinstance(item, dict)
                    and item.get("type") == "text"
                    and isinstance(item.get("text"), str)
                ):
                    texts.append(item["text"])
                elif isinstance(item, dict) and item.get("type") in ("image", "document"):
                    media.append(self._media(item, param=item_param))
                else:
                    raise InvalidRequest(
                        f"'{item_param}' must be a text, image or document block", param=item_param
                    )
        elif content is not None:
            raise wrong_type(f"{param}.content", "a string or an array of blocks", content)
        value = _json_or_text("\n".join(texts))
        key = "error" if block.get("is_error") is True else "result"
        return [{"functionResponse": {"id": call_id, "name": name, "response": {key: value}}}, *media]


def _json_or_text(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text
