"""The public Gemini API's request as clients send it, brought to the canonical form (§8.7).

Only the top level and the `contents` list are copied; parts (which can hold megabytes of base64)
are passed through untouched.
"""

from __future__ import annotations

from typing import Any

import orjson

from switchyard.errors import InvalidRequest
from switchyard.translate.gemini_native import invalid_value, validate_generation_config

_SNAKE_TOP_LEVEL = {
    "system_instruction": "systemInstruction",
    "generation_config": "generationConfig",
    "safety_settings": "safetySettings",
    "tool_config": "toolConfig",
    "cached_content": "cachedContent",
}
_DROPPED = ("model", "safetySettings", "cachedContent")
VALID_ROLES = frozenset({"user", "model"})
_OBJECT_FIELDS = {
    "generationConfig": ("generation_config", "GenerationConfig"),
    "toolConfig": ("tool_config", "ToolConfig"),
}
"""Top-level fields Google's API refuses unless they are JSON objects (systemInstruction may be a string)."""


def to_canonical_request(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidRequest("Invalid JSON payload received: the body must be a JSON object.")
    request: dict[str, Any] = {_SNAKE_TOP_LEVEL.get(str(key), str(key)): value for key, value in body.items()}
    for key in _DROPPED:
        request.pop(key, None)
    for key, (wire, message_type) in _OBJECT_FIELDS.items():
        value = request.get(key)
        if value is not None and not isinstance(value, dict):
            raise InvalidRequest(
                f"Invalid value at '{wire}' ({message_type}), {orjson.dumps(value).decode()[:100]}",
                param=key,
            )
    if request.get("tools") is not None and not isinstance(request["tools"], list):
        raise InvalidRequest("Invalid value at 'tools' (Tool), expected a list of tools", param="tools")
    contents = request.get("contents")
    if not isinstance(contents, list) or not contents:
        raise InvalidRequest("* GenerateContentRequest.contents: contents is not specified", param="contents")
    request["contents"] = [_content(item, index) for index, item in enumerate(contents)]
    validate_generation_config(request.get("generationConfig"))
    system = request.get("systemInstruction")
    if isinstance(system, str):
        request["systemInstruction"] = {"role": "user", "parts": [{"text": system}]}
    elif isinstance(system, dict) and "role" not in system:
        request["systemInstruction"] = {"role": "user", **system}
    if isinstance(request.get("tools"), list):
        request["tools"] = _dedupe_declarations(request["tools"])
    return request


def _content(item: Any, index: int) -> dict[str, Any]:
    if not isinstance(item, dict) or not isinstance(item.get("parts"), list):
        raise InvalidRequest(
            f"* GenerateContentRequest.contents[{index}].parts: contents.parts must not be empty",
            param=f"contents[{index}].parts",
        )
    for position, part in enumerate(item["parts"]):
        if not isinstance(part, dict):
            raise invalid_value(f"contents[{index}].parts[{position}]", "TYPE_MESSAGE", part)
        text = part.get("text")
        if text is not None and not isinstance(text, str):
            raise invalid_value(f"contents[{index}].parts[{position}].text", "TYPE_STRING", text)
    role = item.get("role")
    if role is None or role == "":
        return {**item, "role": "user"}
    if not isinstance(role, str):
        raise invalid_value(f"contents[{index}].role", "TYPE_STRING", role)
    if role not in VALID_ROLES:
        raise InvalidRequest(
            f"* GenerateContentRequest.contents[{index}].role: Please use a valid role: user, model.",
            param=f"contents[{index}].role",
        )
    return item


def _dedupe_declarations(tools: list[Any]) -> list[Any]:
    seen: set[str] = set()
    result = []
    for tool in tools:
        if not isinstance(tool, dict):
            result.append(tool)
            continue
        key = "functionDeclarations" if "functionDeclarations" in tool else "function_declarations"
        declarations = tool.get(key)
        if not isinstance(declarations, list):
            result.append(tool)
            continue
        unique = []
        for declaration in declarations:
            name = declaration.get("name") if isinstance(declaration, dict) else None
            if isinstance(name, str) and name in seen:
                continue
            if isinstance(name, str):
                seen.add(name)
            unique.append(declaration)
        result.append(
            {**tool, "functionDeclarations": unique}
            if key == "functionDeclarations"
            else {**tool, key: unique}
        )
    return result


def usage_of(event: dict[str, Any]) -> tuple[int, int, int] | None:
    """(prompt, completion incl. thoughts, thoughts) from an event's usageMetadata, if it has one."""
    usage = event.get("usageMetadata")
    if not isinstance(usage, dict) or (
        "promptTokenCount" not in usage and "candidatesTokenCount" not in usage
    ):
        return None
    thoughts = int(usage.get("thoughtsTokenCount") or 0)
    return (
        int(usage.get("promptTokenCount") or 0),
        int(usage.get("candidatesTokenCount") or 0) + thoughts,
        thoughts,
    )
