"""The OpenAI chat request on the wire: a JSON object naming a `model` and its `messages`.

Only what every later step relies on is checked here, with OpenAI's wording and `param`, so a
client learns which field to fix; the translator validates the rest field by field. The body
stays a plain dict (no pydantic model): messages can carry megabytes of base64 media, and
copying them into models and back would cost more than it checks.
"""

from __future__ import annotations

from typing import Any

from switchyard.errors import InvalidRequest
from switchyard.surfaces import json_body

MISSING_PARAMETER = "missing_required_parameter"


def parse_chat_request(raw: bytearray) -> dict[str, Any]:
    """The request body as a dict, or the 400 OpenAI would give for it. Consumes `raw`."""
    body = json_body.load_object(raw)
    _require(body, "model", str, "a non-empty string")
    _require(body, "messages", list, "a non-empty array")
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise InvalidRequest(
            f"Invalid type for 'stream': expected a boolean, but got {type(stream).__name__} instead.",
            param="stream",
            code="invalid_type",
        )
    return body


def _require(body: dict[str, Any], name: str, kind: type, described: str) -> None:
    value = body.get(name)
    if value is None:
        raise InvalidRequest(f"Missing required parameter: '{name}'.", param=name, code=MISSING_PARAMETER)
    if not isinstance(value, kind) or not value:
        raise InvalidRequest(
            f"Invalid value for '{name}': expected {described}.",
            param=name,
            code="invalid_value",
        )
