"""OpenAI chat request → canonical Gemini `GenerateContentRequest` (protocols/antigravity.md §8, §9).

`to_gemini_request` is pure: the OpenAI body in, a plain dict out, `InvalidRequest` naming the
parameter for anything the upstream could not represent. The rules, in the order a request meets
them:

- `system`/`developer` → `systemInstruction {"role": "user", "parts": [...]}` (an object: a string is
  a 400 upstream); for image models the text joins the first user turn instead (field-notes 12).
- `user` → `user`, `assistant` → `model`; consecutive turns of one role are merged, and contents
  that start with `model` get an empty user turn first (except Claude, §8.1).
- assistant `tool_calls` → `functionCall` parts with ids; `tool` messages → `functionResponse`
  parts, consecutive results merged into one user turn. Ids pair: missing ones are filled
  deterministically (`call_<message>_<index>`), and a result without an id takes the oldest open call.
- Thought signatures (§8.4): a replayed call gets its real signature (cache, or carried in its id),
  else on Gemini 3 the sentinel on the turn's first call only. Claude gets only real signatures;
  its reasoning is replayed only when its signature is known, never with an invented one.
- Images we generated come back inside assistant text as markdown data URLs; for Gemini families
  they are turned back into `inlineData` parts with their signature (multi-turn image editing).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

from switchyard.errors import InvalidRequest
from switchyard.translate.fields import wrong_type
from switchyard.translate.media import Media, media_from_data_url
from switchyard.translate.openai_config import generation_config
from switchyard.translate.openai_parts import content_parts, text_parts
from switchyard.translate.openai_tools import ToolSet, tool_config_from_openai, tools_from_openai
from switchyard.translate.profile import ModelProfile
from switchyard.translate.signatures import (
    SKIP_SIGNATURE,
    SignatureCache,
    SignedThought,
    decode_signature_from_id,
)

ROLES = ("system", "developer", "user", "assistant", "tool", "function")
_INLINE_REPLAY_FAMILIES = frozenset({"gemini-2.5", "gemini-3", "image"})
_MARKDOWN_DATA_URL = re.compile(r"!?\[[^\]\n]*\]\((data:[^)\s]+)\)")
_NO_MEDIA: Mapping[str, Media] = {}


def to_gemini_request(
    body: Mapping[str, Any],
    *,
    model: ModelProfile,
    resolved_media: Mapping[str, Media] | None = None,
    signatures: SignatureCache | None = None,
) -> dict[str, Any]:
    """The canonical Gemini request for an OpenAI chat body (see the module docstring)."""
    if not isinstance(body, Mapping):
        raise InvalidRequest("The request body must be a JSON object")
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise wrong_type("messages", "an array", messages)
    if not messages:
        raise InvalidRequest("'messages' must contain at least one message", param="messages")
    toolset = tools_from_openai(body, model=model)
    history = _History(model=model, toolset=toolset, media=resolved_media or _NO_MEDIA, signatures=signatures)
    for index, message in enumerate(messages):
        history.add(index, message)
    request: dict[str, Any] = {"contents": history.finish_contents()}
    if history.system_parts:
        request["systemInstruction"] = {"role": "user", "parts": history.system_parts}
    if toolset.tools:
        request["tools"] = toolset.tools
    tool_config = tool_config_from_openai(body, toolset, model=model)
    if tool_config is not None:
        request["toolConfig"] = tool_config
    config = generation_config(body, model=model)
    if config:
        request["generationConfig"] = config
    return request


def signature_keys(body: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(tool-call ids, reasoning texts) of the assistant turns: what `to_gemini_request` may look
    up in the signature cache, so the surface can `recall` them from the shared tier first."""
    ids: list[str] = []
    texts: list[str] = []
    messages = body.get("messages")
    for message in messages if isinstance(messages, list) else ():
        if not isinstance(message, dict) or message.get("role") != "assistant":
            continue
        reasoning = message.get("reasoning_content")
        if isinstance(reasoning, str) and reasoning:
            texts.append(reasoning)
        calls = message.get("tool_calls")
        for call in calls if isinstance(calls, list) else ():
            raw_id = call.get("id") if isinstance(call, dict) else None
            if isinstance(raw_id, str) and raw_id:
                ids.append(decode_signature_from_id(raw_id)[0])
    return ids, texts


class _History:
    """Builds `contents` message by message; remembers tool calls so results can be paired."""

    def __init__(
        self,
        *,
        model: ModelProfile,
        toolset: ToolSet,
        media: Mapping[str, Media],
        signatures: SignatureCache | None,
    ) -> None:
        self.model = model
        self.toolset = toolset
        self.media = media
        self.signatures = signatures
        self.contents: list[dict[str, Any]] = []
        self.system_parts: list[dict[str, Any]] = []
        self.call_names: dict[str, str] = {}
        self.open_calls: list[str] = []

    def add(self, index: int, message: Any) -> None:
        param = f"messages[{index}]"
        if not isinstance(message, dict):
            raise wrong_type(param, "an object", message)
        role = message.get("role")
        if role not in ROLES:
            raise InvalidRequest(
                f"Invalid value for '{param}.role': {role!r}; expected one of {', '.join(ROLES)}",
                param=f"{param}.role",
            )
        content = message.get("content")
        if role in ("system", "developer"):
            self.system_parts.extend(text_parts(content, param=f"{param}.content"))
        elif role == "user":
            if content is None:
                raise wrong_type(f"{param}.content", "a string or an array of content parts", content)
            self._append("user", content_parts(content, param=f"{param}.content", resolved_media=self.media))
        elif role == "assistant":
            self._append("model", self._assistant_parts(index, message))
        else:
            self._append("user", [self._tool_result(index, message)])

    def _append(self, role: str, parts: list[dict[str, Any]]) -> None:
        if not parts:
            return
        if self.contents and self.contents[-1]["role"] == role:
            self.contents[-1]["parts"].extend(parts)
        else:
            self.contents.append({"role": role, "parts": parts})

    def finish_contents(self) -> list[dict[str, Any]]:
        if self.model.image_output and self.system_parts:
            # Image models take no systemInstruction (§8.6); keep the client's words as user text.
            parts, self.system_parts = self.system_parts, []
            if self.contents and self.contents[0]["role"] == "user":
                self.contents[0]["parts"][:0] = parts
            else:
                self.contents.insert(0, {"role": "user", "parts": parts})
        if not self.contents:
            if not self.system_parts:
                raise InvalidRequest("'messages' holds no content to send", param="messages")
            # A lone system message becomes the user turn (CPA-H), so the request is not empty.
            self.contents.append({"role": "user", "parts": self.system_parts})
            self.system_parts = []
        if self.contents[0]["role"] == "model" and not self.model.is_claude:
            self.contents.insert(0, {"role": "user", "parts": [{"text": ""}]})
        return self.contents

    # -- assistant turns -----------------------------------------------------------------------

    def _assistant_parts(self, index: int, message: dict[str, Any]) -> list[dict[str, Any]]:
        param = f"messages[{index}]"
        content = message.get("content")
        parts: list[dict[str, Any]] = []
        if content is not None:
            parts = content_parts(content, param=f"{param}.content", resolved_media=self.media)
            if self.model.family in _INLINE_REPLAY_FAMILIES:
                parts = [
                    out for part in parts for out in self._split_inline_media(part, param=f"{param}.content")
                ]
            parts = [part for part in parts if part.get("text") != ""]
        calls = message.get("tool_calls")
        if calls is None and isinstance(message.get("function_call"), dict):
            calls = [{"type": "function", "function": message["function_call"]}]  # the legacy form
        if calls is not None and not isinstance(calls, list):
            raise wrong_type(f"{param}.tool_calls", "an array", calls)
        call_parts = [self._call_part(index, position, call) for position, call in enumerate(calls or [])]
        self._sign_calls(call_parts)
        thought = self._thought_part(message, call_parts, param=param)
        return ([thought] if thought else []) + parts + [part for part, _ in call_parts]

    def _split_inline_media(self, part: dict[str, Any], *, param: str) -> list[dict[str, Any]]:
        """Our own answers carried images as markdown data URLs; replay them as media parts with
        their signatures, so multi-turn image editing works (and no megabytes of base64 go as text)."""
        text = part.get("text")
        if not isinstance(text, str) or "](data:" not in text:
            return [part]
        out: list[dict[str, Any]] = []
        position = 0
        for match in _MARKDOWN_DATA_URL.finditer(text):
            out.append({"text": text[position : match.start()]})
            media = media_from_data_url(match.group(1), param=param)
            inline = media.to_inline_data()
            known = self.signatures.media(media.data_b64, self.model.family) if self.signatures else None
            if known is not None:
                inline["thoughtSignature"] = known.signature
            elif self.model.family in ("gemini-3", "image"):
                inline["thoughtSignature"] = SKIP_SIGNATURE
            out.append(inline)
            position = match.end()
        out.append({"text": text[position:]})
        return out

    def _call_part(self, index: int, position: int, call: Any) -> tuple[dict[str, Any], SignedThought | None]:
        """(functionCall part, the signature known for it)."""
        param = f"messages[{index}].tool_calls[{position}]"
        if not isinstance(call, dict):
            raise wrong_type(param, "an object", call)
        function = call.get("function")
        if not isinstance(function, dict):
            raise wrong_type(f"{param}.function", "an object", function)
        name = function.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidRequest(
                f"'{param}.function.name' must be a non-empty string", param=f"{param}.function.name"
            )
        raw_id = call.get("id")
        if raw_id is not None and not isinstance(raw_id, str):
            raise wrong_type(f"{param}.id", "a string", raw_id)
        call_id, carried = decode_signature_from_id(raw_id or f"call_{index}_{position}")
        upstream_name = self.toolset.upstream_name(name)
        self.call_names[call_id] = upstream_name
        self.open_calls.append(call_id)
        known = self.signatures.tool_call(call_id, self.model.family) if self.signatures else None
        if known is None and carried is not None and carried.family == self.model.family:
            known = carried
        part = {
            "functionCall": {
                "id": call_id,
                "name": upstream_name,
                "args": _arguments(function.get("arguments")),
            }
        }
        return part, known

    def _sign_calls(self, call_parts: list[tuple[dict[str, Any], SignedThought | None]]) -> None:
        if self.model.is_claude:
            return  # Claude signs thinking blocks, not tool calls.
        for position, (part, known) in enumerate(call_parts):
            if known is not None:
                part["thoughtSignature"] = known.signature
            elif position == 0 and self.model.family == "gemini-3":
                part["thoughtSignature"] = SKIP_SIGNATURE

    def _thought_part(
        self,
        message: dict[str, Any],
        call_parts: list[tuple[dict[str, Any], SignedThought | None]],
        *,
        param: str,
    ) -> dict[str, Any] | None:
        reasoning = message.get("reasoning_content")
        if reasoning is not None and not isinstance(reasoning, str):
            raise wrong_type(f"{param}.reasoning_content", "a string", reasoning)
        family = self.model.family
        if family in ("gemini-2.5", "gemini-3"):
            if not reasoning:
                return None
            known = self.signatures.thinking(reasoning, family) if self.signatures else None
            return {
                "text": reasoning,
                "thought": True,
                "thoughtSignature": known.signature if known else SKIP_SIGNATURE,
            }
        if family != "claude":
            return None  # gpt-oss and image models: nothing to replay thoughts into
        if reasoning:
            known = self.signatures.thinking(reasoning, family) if self.signatures else None
            if known is not None:
                return {"text": reasoning, "thought": True, "thoughtSignature": known.signature}
        # The client dropped (or changed) the reasoning: restore the signed block recorded for its calls.
        for _, thought in call_parts:
            if thought is not None and thought.thinking is not None:
                return {"text": thought.thinking, "thought": True, "thoughtSignature": thought.signature}
        return None

    # -- tool results --------------------------------------------------------------------------

    def _tool_result(self, index: int, message: dict[str, Any]) -> dict[str, Any]:
        param = f"messages[{index}]"
        raw_id = message.get("tool_call_id")
        if raw_id is not None and not isinstance(raw_id, str):
            raise wrong_type(f"{param}.tool_call_id", "a string", raw_id)
        given_name = message.get("name") if isinstance(message.get("name"), str) else None
        upstream_given = self.toolset.upstream_name(given_name) if given_name else None
        call_id = decode_signature_from_id(raw_id)[0] if raw_id else self._oldest_open_call(upstream_given)
        name = self.call_names.get(call_id or "") or upstream_given
        if call_id is None or name is None:
            raise InvalidRequest(
                f"'{param}.tool_call_id' {raw_id!r} matches no tool call of an earlier assistant message",
                param=f"{param}.tool_call_id",
            )
        if call_id in self.open_calls:
            self.open_calls.remove(call_id)
        text = "".join(
            part["text"] for part in text_parts(message.get("content") or "", param=f"{param}.content")
        )
        return {
            "functionResponse": {"id": call_id, "name": name, "response": {"result": _json_or_text(text)}}
        }

    def _oldest_open_call(self, name: str | None) -> str | None:
        for call_id in self.open_calls:
            if name is None or self.call_names[call_id] == name:
                return call_id
        return None


def _arguments(raw: Any) -> dict[str, Any]:
    """Tool-call arguments as an object: invalid JSON or a non-object value → `{"params": raw}` (§8.1)."""
    if raw is None or raw == "":
        return {}
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str):
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return {"params": raw}
        return parsed if isinstance(parsed, dict) else {"params": parsed}
    return {"params": raw}


def _json_or_text(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text
