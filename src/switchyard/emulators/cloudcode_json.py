"""JSON mode (`responseMimeType: application/json`): a deterministic value valid against the schema.

The upstream constrains decoding to `responseSchema` (the OpenAPI subset) or `responseJsonSchema`
(JSON Schema); the emulator answers the first value its schema allows: every declared property
(so clients that parse into models with defaults still see each field), the first enum value,
`const`, the first `anyOf`/`oneOf` branch, local `$ref`s followed, `minItems` honoured. Written from
the public API's description, sharing nothing with the gateway's schema cleaner.
"""

from __future__ import annotations

import json
from typing import Any

JSON_MIME = "application/json"
_MAX_DEPTH = 12
_FORMATS = {
    "date-time": "2026-01-01T00:00:00Z",
    "date": "2026-01-01",
    "time": "00:00:00",
    "email": "user@example.com",
    "uri": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
}


def wants_json(config: dict[str, Any]) -> bool:
    mime = config.get("responseMimeType", config.get("response_mime_type"))
    return isinstance(mime, str) and mime.split(";")[0].strip().lower() == JSON_MIME


def json_answer(config: dict[str, Any], prompt: str) -> str:
    """The JSON text the model answers with in JSON mode."""
    schema = None
    for key in ("responseJsonSchema", "response_json_schema", "responseSchema", "response_schema"):
        if isinstance(config.get(key), dict):
            schema = config[key]
            break
    if schema is None:
        return json.dumps({"answer": prompt[:200]})
    return json.dumps(_Sampler(schema, prompt).value(schema, "value", 0))


class _Sampler:
    def __init__(self, root: dict[str, Any], prompt: str) -> None:
        self.root = root
        self.prompt = prompt

    def _resolve(self, ref: str) -> Any:
        if not ref.startswith("#"):
            return {}
        node: Any = self.root
        for token in ref[1:].split("/"):
            if not token:
                continue
            token = token.replace("~1", "/").replace("~0", "~")
            node = node.get(token) if isinstance(node, dict) else None
        return node if isinstance(node, dict) else {}

    def value(self, schema: Any, name: str, depth: int) -> Any:
        if not isinstance(schema, dict) or depth > _MAX_DEPTH:
            return None if depth > _MAX_DEPTH else f"{name}"
        ref = schema.get("$ref")
        if isinstance(ref, str):
            return self.value(self._resolve(ref), name, depth + 1)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return schema["enum"][0]
        for key in ("anyOf", "oneOf"):
            branches = schema.get(key)
            if isinstance(branches, list) and branches:
                concrete = [b for b in branches if not (isinstance(b, dict) and b.get("type") == "null")]
                return self.value((concrete or branches)[0], name, depth + 1)
        if isinstance(schema.get("allOf"), list) and schema["allOf"]:
            merged: dict[str, Any] = {}
            for branch in schema["allOf"]:
                branch = (
                    self._resolve(branch["$ref"]) if isinstance(branch, dict) and "$ref" in branch else branch
                )
                if isinstance(branch, dict):
                    merged.update(branch)
            return self.value(merged, name, depth + 1)
        return self._typed(schema, name, depth)

    def _typed(self, schema: dict[str, Any], name: str, depth: int) -> Any:
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if str(k).lower() != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
        kind = str(kind).lower()
        if kind == "object":
            properties = schema.get("properties") or {}
            return {key: self.value(sub, key, depth + 1) for key, sub in properties.items()}
        if kind == "array":
            count = max(1, int(schema.get("minItems") or 1))
            return [self.value(schema.get("items"), name, depth + 1) for _ in range(count)]
        if kind == "integer":
            return int(schema.get("minimum") or 1)
        if kind == "number":
            minimum = schema.get("minimum")
            return float(minimum) if isinstance(minimum, (int, float)) else 1.5
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        fmt = schema.get("format")
        if isinstance(fmt, str) and fmt in _FORMATS:
            return _FORMATS[fmt]
        text = f"{name}: {self.prompt[:40]}".strip()
        min_length = schema.get("minLength")
        if isinstance(min_length, int) and len(text) < min_length:
            text = text.ljust(min_length, "x")
        max_length = schema.get("maxLength")
        if isinstance(max_length, int):
            text = text[:max_length]
        return text
