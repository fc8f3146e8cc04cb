"""A Gemini-native request made what Google's public API accepts, fitted for the model (issue 13).

The Gemini API is the canonical form, so the Gemini-native surface forwards requests almost
untouched; what it must still do, in the order a request meets it:

- validate field types the way Google does (400 `INVALID_ARGUMENT` naming the field:
  `"temperature": "hot"` is refused, not forwarded) — `validate_generation_config`;
- bytes fields (`thoughtSignature`, `inlineData.data`) to standard padded base64 (§12.7: clients
  send URL-safe; Cloud Code is only known to take the standard form);
- Claude needs every `functionCall.id` / `functionResponse.id`, which the Gemini API makes
  optional (google-genai's `Part.from_function_response` and LangChain omit them): a missing call id
  is made up from its position (the same every turn), a missing response id is the oldest
  unanswered call of that name;
- tool schemas cleaned exactly as on the OpenAI route (`schema.clean_schema`), with
  `parametersJsonSchema` moved to `parameters`.

Only the lists and dicts that change are copied; parts holding megabytes of base64 are passed by
reference when they are already in the standard form.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from switchyard.errors import InvalidRequest
from switchyard.translate.b64 import standard_b64
from switchyard.translate.profile import ModelProfile
from switchyard.translate.schema import Target, clean_schema

_FLOAT, _INT, _BOOL, _STRING, _STRINGS, _OBJECT = (
    "TYPE_FLOAT",
    "TYPE_INT32",
    "TYPE_BOOL",
    "TYPE_STRING",
    "TYPE_STRING[]",
    "TYPE_MESSAGE",
)
_GENERATION_TYPES = {
    "temperature": _FLOAT,
    "topP": _FLOAT,
    "topK": _FLOAT,
    "candidateCount": _INT,
    "maxOutputTokens": _INT,
    "seed": _INT,
    "presencePenalty": _FLOAT,
    "frequencyPenalty": _FLOAT,
    "responseLogprobs": _BOOL,
    "logprobs": _INT,
    "stopSequences": _STRINGS,
    "responseMimeType": _STRING,
    "responseModalities": _STRINGS,
    "thinkingConfig": _OBJECT,
    "imageConfig": _OBJECT,
    "responseSchema": _OBJECT,
}
_EMPTY_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}


def _snake(name: str) -> str:
    return "".join("_" + char.lower() if char.isupper() else char for char in name)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def invalid_value(path: str, proto_type: str, value: Any) -> InvalidRequest:
    """Google's wording for a value of the wrong type; `path` in the API's snake_case."""
    if isinstance(value, dict):
        shown = "Starting an object on a scalar field"
    elif isinstance(value, list):
        shown = "Starting an array on a scalar field"
    else:
        shown = repr(value).replace("'", '"')
    return InvalidRequest(f"Invalid value at '{path}' ({proto_type.removesuffix('[]')}), {shown}", param=path)


def _fits(kind: str, value: Any) -> bool:
    if kind == _OBJECT:
        return isinstance(value, dict)
    if kind == _BOOL:
        return isinstance(value, bool)
    if kind == _STRING:
        return isinstance(value, str)
    if isinstance(value, bool):
        return False
    if kind == _INT:
        if isinstance(value, str):  # ProtoJSON takes numbers written as strings
            return value.strip().lstrip("-").isdigit()
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return False
        return True
    return isinstance(value, (int, float))


def validate_generation_config(config: Any) -> None:
    """Raise Google's 400 for a `generationConfig` field of the wrong type."""
    if config is None:
        return
    if not isinstance(config, dict):
        raise invalid_value("generation_config", _OBJECT, config)
    for key, value in config.items():
        kind = _GENERATION_TYPES.get(_camel(key))
        if kind is None or value is None:
            continue
        path = f"generation_config.{_snake(_camel(key))}"
        if kind == _STRINGS:
            if not isinstance(value, list):
                raise invalid_value(path, kind, value)
            for index, item in enumerate(value):
                if not isinstance(item, str):
                    raise invalid_value(f"{path}[{index}]", _STRING, item)
        elif not _fits(kind, value):
            raise invalid_value(path, kind, value)


def fit_native_request(request: dict[str, Any], *, model: ModelProfile) -> dict[str, Any]:
    """`request` (already in canonical top-level shape) fitted for `model`; see the module docstring.

    Returns `request` itself when nothing changes; otherwise a shallow copy with new lists where
    something changed."""
    result = request
    contents = request.get("contents")
    if isinstance(contents, list):
        fitted = _fit_contents(contents, fill_ids=model.is_claude)
        if fitted is not contents:
            result = {**result, "contents": fitted}
    tools = request.get("tools")
    if isinstance(tools, list):
        target: Target = "claude" if model.is_claude else "gemini"
        cleaned = [_clean_tool(tool, index, target) for index, tool in enumerate(tools)]
        result = {**result, "tools": cleaned}
    return result


# --- contents ------------------------------------------------------------------------------------


def _get(part: Mapping[str, Any], camel: str, snake: str) -> Any:
    value = part.get(camel)
    return part.get(snake) if value is None else value


class _CallIds:
    """Pairs calls and results the way Google pairs them: by order and name."""

    def __init__(self) -> None:
        self.open: list[tuple[str, str]] = []

    def call(self, call: dict[str, Any], content_index: int, part_index: int) -> dict[str, Any]:
        call_id = call.get("id")
        name = str(call.get("name") or "")
        if not call_id:
            call_id = f"call_{content_index}_{part_index}"
            call = {**call, "id": call_id}
        self.open.append((str(call_id), name))
        return call

    def response(self, response: dict[str, Any], content_index: int, part_index: int) -> dict[str, Any]:
        response_id = response.get("id")
        name = str(response.get("name") or "")
        if response_id:
            self.open = [entry for entry in self.open if entry[0] != response_id]
            return response
        match = next((entry for entry in self.open if entry[1] == name), None)
        if match is None and self.open:
            match = self.open[0]
        if match is None:
            return {**response, "id": f"call_{content_index}_{part_index}"}
        self.open.remove(match)
        return {**response, "id": match[0]}


def _fit_contents(contents: list[Any], *, fill_ids: bool) -> list[Any]:
    ids = _CallIds() if fill_ids else None
    result: list[Any] | None = None
    for content_index, content in enumerate(contents):
        parts = content.get("parts") if isinstance(content, dict) else None
        if not isinstance(parts, list):
            continue
        new_parts: list[Any] | None = None
        for part_index, part in enumerate(parts):
            fitted = _fit_part(part, ids, content_index, part_index)
            if fitted is not part:
                if new_parts is None:
                    new_parts = list(parts)
                new_parts[part_index] = fitted
        if new_parts is not None:
            if result is None:
                result = list(contents)
            result[content_index] = {**content, "parts": new_parts}
    return contents if result is None else result


def _fit_part(part: Any, ids: _CallIds | None, content_index: int, part_index: int) -> Any:
    if not isinstance(part, dict):
        return part
    result = part
    for key in ("thoughtSignature", "thought_signature"):
        signature = part.get(key)
        if isinstance(signature, str):
            normalized = standard_b64(signature)
            if normalized is not signature:
                result = {**result, key: normalized}
    for key in ("inlineData", "inline_data"):
        inline = part.get(key)
        data = inline.get("data") if isinstance(inline, dict) else None
        if isinstance(data, str):
            normalized = standard_b64(data)
            if normalized is not data:
                result = {**result, key: {**inline, "data": normalized}}  # type: ignore[dict-item]
    if ids is None:
        return result
    for key in ("functionCall", "function_call"):
        call = part.get(key)
        if isinstance(call, dict):
            fitted = ids.call(call, content_index, part_index)
            if fitted is not call:
                result = {**result, key: fitted}
    for key in ("functionResponse", "function_response"):
        response = part.get(key)
        if isinstance(response, dict):
            fitted = ids.response(response, content_index, part_index)
            if fitted is not response:
                result = {**result, key: fitted}
    return result


# --- tools ---------------------------------------------------------------------------------------


def _clean_tool(tool: Any, index: int, target: Target) -> Any:
    if not isinstance(tool, dict):
        raise invalid_value(f"tools[{index}]", _OBJECT, tool)
    key = "functionDeclarations" if "functionDeclarations" in tool else "function_declarations"
    declarations = tool.get(key)
    if declarations is None:
        return tool
    if not isinstance(declarations, list):
        raise invalid_value(f"tools[{index}].function_declarations", _OBJECT, declarations)
    cleaned = [
        _clean_declaration(declaration, f"tools[{index}].function_declarations[{position}]", target)
        for position, declaration in enumerate(declarations)
    ]
    result = {name: value for name, value in tool.items() if name != key}
    result["functionDeclarations"] = cleaned
    return result


def _clean_declaration(declaration: Any, path: str, target: Target) -> dict[str, Any]:
    """One declaration with `parameters` only (cleaned); the JSON-schema form moved there."""
    if not isinstance(declaration, dict):
        raise invalid_value(path, _OBJECT, declaration)
    schema = None
    for key in ("parametersJsonSchema", "parameters_json_schema", "parameters"):
        if declaration.get(key) is not None:
            schema = declaration[key]
            if not isinstance(schema, dict):
                raise invalid_value(f"{path}.{_snake(_camel(key))}", _OBJECT, schema)
            break
    result = {
        key: value
        for key, value in declaration.items()
        if key not in ("parametersJsonSchema", "parameters_json_schema", "parameters")
        and key not in ("responseJsonSchema", "response_json_schema")
    }
    cleaned = clean_schema(schema or _EMPTY_PARAMETERS, target=target)
    if "type" not in cleaned:
        cleaned = {"type": "object", **cleaned}  # Claude refuses a schema without `type` (§12.5)
    result["parameters"] = cleaned
    return result
