"""The Responses request on the wire: a JSON object naming a `model` and its `input`.

Only what every later step relies on is checked here, with OpenAI's wording and `param`; the
translator checks items and tools one by one. Fields that ask for server features we do not have
(`background`, `conversation`, prompt templates) are a 400 naming them, never silently ignored.
"""

from __future__ import annotations

from typing import Any

from switchyard.errors import InvalidRequest
from switchyard.surfaces import json_body

MISSING_PARAMETER = "missing_required_parameter"
ENCRYPTED_REASONING = "reasoning.encrypted_content"
UNSUPPORTED_FIELDS = {
    "background": "background responses are not supported; omit 'background' or set it to false",
    "conversation": "the Conversations API is not supported; use 'previous_response_id' instead",
    "prompt": "prompt templates are not supported; send 'instructions' and 'input' instead",
}


def parse_responses_request(raw: bytearray) -> dict[str, Any]:
    """The request body as a dict, or the 400 OpenAI would give for it. Consumes `raw`."""
    body = json_body.load_object(raw)
    model = body.get("model")
    if model is None:
        raise InvalidRequest("Missing required parameter: 'model'.", param="model", code=MISSING_PARAMETER)
    if not isinstance(model, str) or not model:
        raise InvalidRequest("Invalid value for 'model': expected a non-empty string.", param="model")
    if body.get("input") is None and body.get("previous_response_id") is None:
        raise InvalidRequest("Missing required parameter: 'input'.", param="input", code=MISSING_PARAMETER)
    for name in ("stream", "store", "parallel_tool_calls"):
        value = body.get(name)
        if value is not None and not isinstance(value, bool):
            raise InvalidRequest(
                f"Invalid type for '{name}': expected a boolean, but got {type(value).__name__} instead.",
                param=name,
                code="invalid_type",
            )
    for name, why in UNSUPPORTED_FIELDS.items():
        if body.get(name) not in (None, False):
            raise InvalidRequest(f"'{name}': {why}", param=name, code="unsupported_parameter")
    previous = body.get("previous_response_id")
    if previous is not None and (not isinstance(previous, str) or not previous):
        raise InvalidRequest("'previous_response_id' must be a response id", param="previous_response_id")
    include = body.get("include")
    if include is not None and (
        not isinstance(include, list) or not all(isinstance(i, str) for i in include)
    ):
        raise InvalidRequest("'include' must be an array of strings", param="include")
    return body


def wants_encrypted_reasoning(body: dict[str, Any]) -> bool:
    return ENCRYPTED_REASONING in (body.get("include") or ())


def wants_summaries(body: dict[str, Any]) -> bool:
    reasoning = body.get("reasoning")
    summary = reasoning.get("summary") if isinstance(reasoning, dict) else None
    return summary is not None and summary != "none"


def echo_fields(body: dict[str, Any]) -> dict[str, Any]:
    """The request fields a `response` object repeats."""
    reasoning = body.get("reasoning")
    reasoning = reasoning if isinstance(reasoning, dict) else {}
    text = body.get("text")
    text = text if isinstance(text, dict) else {}
    return {
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "store": body.get("store", True),
        "temperature": body.get("temperature"),
        "text": {"format": text.get("format") or {"type": "text"}},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "top_p": body.get("top_p"),
        "truncation": "disabled",
        "metadata": body.get("metadata") or {},
    }
