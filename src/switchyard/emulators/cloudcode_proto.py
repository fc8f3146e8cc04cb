"""Proto-JSON parsing as Google's front end does it: unknown names, oneofs, bytes, schema keywords (§7).

The real backend parses the body into protobuf messages before anything else, so a misspelt or
unsupported field fails with `Invalid JSON payload received. Unknown name "x" at 'request.…': Cannot
find field.` and a path in proto (snake_case) names. Both lowerCamel and snake_case spellings are
accepted, as in any proto-JSON parser. The messages below are a small descriptor of the request.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from switchyard.emulators.cloudcode_errors import invalid_payload, unknown_field

SCALAR = "scalar"
BYTES = "bytes"
VALUE = "value"  # google.protobuf.Value / Struct: anything goes
SCHEMA = "schema"
REPEATED = True
SINGLE = False
PROTO_PACKAGE = "type.googleapis.com/google.cloud.aiplatform.v1beta1"

# field (lowerCamel) -> (kind or message name, repeated)
MESSAGES: dict[str, dict[str, tuple[str, bool]]] = {
    "Envelope": {
        "project": (SCALAR, SINGLE),
        "requestId": (SCALAR, SINGLE),
        "model": (SCALAR, SINGLE),
        "userAgent": (SCALAR, SINGLE),
        "requestType": (SCALAR, SINGLE),
        "request": ("Request", SINGLE),
        "enabledCreditTypes": (SCALAR, REPEATED),
    },
    "Request": {
        "contents": ("Content", REPEATED),
        "systemInstruction": ("Content", SINGLE),
        "tools": ("Tool", REPEATED),
        "toolConfig": ("ToolConfig", SINGLE),
        "generationConfig": ("GenerationConfig", SINGLE),
        "safetySettings": (VALUE, REPEATED),
        "sessionId": (SCALAR, SINGLE),
        "cachedContent": (SCALAR, SINGLE),
        "labels": (VALUE, SINGLE),
    },
    "Content": {"role": (SCALAR, SINGLE), "parts": ("Part", REPEATED)},
    "Part": {
        "text": (SCALAR, SINGLE),
        "thought": (SCALAR, SINGLE),
        "thoughtSignature": (BYTES, SINGLE),
        "inlineData": ("Blob", SINGLE),
        "fileData": ("FileData", SINGLE),
        "functionCall": ("FunctionCall", SINGLE),
        "functionResponse": ("FunctionResponse", SINGLE),
        "executableCode": ("ExecutableCode", SINGLE),
        "codeExecutionResult": ("CodeExecutionResult", SINGLE),
        "videoMetadata": (VALUE, SINGLE),
        "mediaResolution": (VALUE, SINGLE),
    },
    "Blob": {"mimeType": (SCALAR, SINGLE), "data": (BYTES, SINGLE), "displayName": (SCALAR, SINGLE)},
    "FileData": {"mimeType": (SCALAR, SINGLE), "fileUri": (SCALAR, SINGLE), "displayName": (SCALAR, SINGLE)},
    "FunctionCall": {"id": (SCALAR, SINGLE), "name": (SCALAR, SINGLE), "args": (VALUE, SINGLE)},
    "FunctionResponse": {
        "id": (SCALAR, SINGLE),
        "name": (SCALAR, SINGLE),
        "response": (VALUE, SINGLE),
        "willContinue": (SCALAR, SINGLE),
        "scheduling": (SCALAR, SINGLE),
        "parts": (VALUE, REPEATED),
    },
    "ExecutableCode": {"language": (SCALAR, SINGLE), "code": (SCALAR, SINGLE)},
    "CodeExecutionResult": {"outcome": (SCALAR, SINGLE), "output": (SCALAR, SINGLE)},
    "Tool": {
        "functionDeclarations": ("FunctionDeclaration", REPEATED),
        "googleSearch": (VALUE, SINGLE),
        "googleSearchRetrieval": (VALUE, SINGLE),
        "codeExecution": (VALUE, SINGLE),
        "urlContext": (VALUE, SINGLE),
        "retrieval": (VALUE, SINGLE),
        "computerUse": (VALUE, SINGLE),
        "enterpriseWebSearch": (VALUE, SINGLE),
    },
    "FunctionDeclaration": {
        "name": (SCALAR, SINGLE),
        "description": (SCALAR, SINGLE),
        "parameters": (SCHEMA, SINGLE),
        "parametersJsonSchema": (VALUE, SINGLE),
        "response": (SCHEMA, SINGLE),
        "responseJsonSchema": (VALUE, SINGLE),
        "behavior": (SCALAR, SINGLE),
    },
    "ToolConfig": {
        "functionCallingConfig": ("FunctionCallingConfig", SINGLE),
        "retrievalConfig": (VALUE, SINGLE),
    },
    "FunctionCallingConfig": {"mode": (SCALAR, SINGLE), "allowedFunctionNames": (SCALAR, REPEATED)},
    "GenerationConfig": {
        **{
            name: (SCALAR, SINGLE)
            for name in (
                "temperature",
                "topP",
                "topK",
                "candidateCount",
                "maxOutputTokens",
                "presencePenalty",
                "frequencyPenalty",
                "seed",
                "responseMimeType",
                "responseLogprobs",
                "logprobs",
                "mediaResolution",
                "audioTimestamp",
                "enableEnhancedCivicAnswers",
            )
        },
        "stopSequences": (SCALAR, REPEATED),
        "responseModalities": (SCALAR, REPEATED),
        # Response schemas are not checked: §8.3 says they keep `additionalProperties:false`, so the
        # upstream evidently parses them more leniently than function parameters.
        "responseSchema": (VALUE, SINGLE),
        "responseJsonSchema": (VALUE, SINGLE),
        "speechConfig": (VALUE, SINGLE),
        "routingConfig": (VALUE, SINGLE),
        "thinkingConfig": ("ThinkingConfig", SINGLE),
        "imageConfig": ("ImageConfig", SINGLE),
    },
    "ThinkingConfig": {
        "includeThoughts": (SCALAR, SINGLE),
        "thinkingBudget": (SCALAR, SINGLE),
        "thinkingLevel": (SCALAR, SINGLE),
    },
    "ImageConfig": {
        "aspectRatio": (SCALAR, SINGLE),
        "imageSize": (SCALAR, SINGLE),
        "personGeneration": (SCALAR, SINGLE),
    },
}
PART_DATA_ONEOF = (
    "text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode", "codeExecutionResult",
)  # fmt: skip

ACCEPTED_SCHEMA_KEYWORDS = frozenset(
    {"type", "format", "description", "nullable", "enum", "properties", "required", "items"}
)
"""The JSON-schema keywords the Antigravity backend's `Schema` message has.

Decided from the notes (§8.3, §7): the backend rejects every keyword that proxies strip or move into
descriptions *for Antigravity* — `$schema`, `$ref`, `$defs`, `const`, `additionalProperties`,
`propertyNames`, `x-*`, `title`, `default`, `examples`, `minLength`/`maxLength`, `pattern`,
`minItems`/`maxItems` (the Dec 2025 Antigravity cleaners had to drop these), `minimum`/`maximum`/
`multipleOf`/`not` (moved "for Antigravity" only), `uniqueItems`, `exclusive*`, `allOf`/`oneOf` and
`anyOf` (proxies merge or collapse them). What proxies leave in place — `type`, `description`,
`properties`, `required`, `items`, `enum`, `nullable`, and `format`, which every version of Gemini's
Schema proto has — is accepted: the field set of the original (early 2024) Gemini `Schema`."""
SCHEMA_TYPES = frozenset(
    {"TYPE_UNSPECIFIED", "STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL"}
)

_CAMEL_BOUNDARY = re.compile(r"(?<!^)(?=[A-Z])")


def snake(name: str) -> str:
    return _CAMEL_BOUNDARY.sub("_", name).lower()


def _field_index(message: str) -> dict[str, tuple[str, str, bool]]:
    """Both spellings of each field -> (lowerCamel name, kind, repeated)."""
    index: dict[str, tuple[str, str, bool]] = {}
    for camel, (kind, repeated) in MESSAGES[message].items():
        index[camel] = index[snake(camel)] = (camel, kind, repeated)
    return index


FIELD_INDEXES = {message: _field_index(message) for message in MESSAGES}


def get_field(obj: dict[str, Any], camel: str, default: Any = None) -> Any:
    """Read a field under either proto-JSON spelling."""
    if camel in obj:
        return obj[camel]
    return obj.get(snake(camel), default)


def _invalid_value(path: str, type_name: str, value: Any) -> tuple[str, str]:
    return path, f"Invalid value at '{path}' ({type_name}), {json.dumps(value)[:200]}"


def decodes_as_base64(text: str) -> bool:
    """Proto-JSON `bytes` accept standard or URL-safe base64, padded or not."""
    normalized = text.replace("-", "+").replace("_", "/")
    try:
        base64.b64decode(normalized + "=" * (-len(normalized) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


class PayloadChecker:
    """Walks a body against MESSAGES and collects every parse failure, as Google lists them all."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def check(self, message: str, obj: Any, path: str) -> None:
        if not isinstance(obj, dict):
            self.problems.append(_invalid_value(path, f"{PROTO_PACKAGE}.{message}", obj))
            return
        fields = FIELD_INDEXES[message]
        set_data: list[str] = []
        for key, value in obj.items():
            if key not in fields:
                self.problems.append(unknown_field(key, path))
                continue
            camel, kind, repeated = fields[key]
            if message == "Part" and camel in PART_DATA_ONEOF:
                if set_data:
                    detail = f"Oneof field 'data' is already set. Cannot set '{camel}'"
                    self.problems.append((path, detail))
                set_data.append(camel)
            self._check_value(kind, repeated, value, f"{path}.{snake(camel)}" if path else snake(camel))

    def _check_value(self, kind: str, repeated: bool, value: Any, path: str) -> None:
        if repeated:
            if not isinstance(value, list):
                self.problems.append(_invalid_value(path, "list", value))
                return
            for index, item in enumerate(value):
                self._check_single(kind, item, f"{path}[{index}]")
        elif isinstance(value, list) and kind != VALUE:
            self.problems.append((path, "Proto field is not repeating, cannot start list."))
        else:
            self._check_single(kind, value, path)

    def _check_single(self, kind: str, value: Any, path: str) -> None:
        if kind in {SCALAR, VALUE}:
            return
        if kind == BYTES:
            if not isinstance(value, str) or not decodes_as_base64(value):
                self.problems.append(
                    (path, f"Invalid value at '{path}' (TYPE_BYTES), Base64 decoding failed")
                )
            return
        if kind == SCHEMA:
            self.check_schema(value, path)
            return
        self.check(kind, value, path)

    def check_schema(self, schema: Any, path: str) -> None:
        """A function's `parameters` against ACCEPTED_SCHEMA_KEYWORDS, recursively."""
        if not isinstance(schema, dict):
            self.problems.append(_invalid_value(path, f"{PROTO_PACKAGE}.Schema", schema))
            return
        for key, value in schema.items():
            if key not in ACCEPTED_SCHEMA_KEYWORDS:
                self.problems.append(unknown_field(key, path))
            elif key == "type":
                self._check_schema_type(value, f"{path}.type")
            elif key == "enum":
                self._check_enum(value, f"{path}.enum")
            elif key == "items":
                self.check_schema(value, f"{path}.items")
            elif key == "properties":
                self._check_properties(value, f"{path}.properties")

    def _check_schema_type(self, value: Any, path: str) -> None:
        if isinstance(value, list):
            self.problems.append((path, "Proto field is not repeating, cannot start list."))
        elif not isinstance(value, str) or value.upper() not in SCHEMA_TYPES:
            self.problems.append(_invalid_value(path, f"{PROTO_PACKAGE}.Type", value))

    def _check_enum(self, value: Any, path: str) -> None:
        if not isinstance(value, list):
            self.problems.append(_invalid_value(path, "list", value))
            return
        for index, item in enumerate(value):
            if not isinstance(item, str):
                self.problems.append(_invalid_value(f"{path}[{index}]", "TYPE_STRING", item))

    def _check_properties(self, value: Any, path: str) -> None:
        """`properties` is a proto map: its entries are addressed `properties[i].value`."""
        if not isinstance(value, dict):
            self.problems.append(_invalid_value(path, "map", value))
            return
        for index, child in enumerate(value.values()):
            self.check_schema(child, f"{path}[{index}].value")


def check_payload(body: Any) -> None:
    """Raise the 400 a proto-JSON parse of the whole envelope would give, if any."""
    checker = PayloadChecker()
    checker.check("Envelope", body, "")
    if checker.problems:
        raise invalid_payload(checker.problems)
