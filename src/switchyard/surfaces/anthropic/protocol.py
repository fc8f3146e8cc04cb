"""The Anthropic Messages request on the wire: a JSON object naming a `model`, its `messages` and
`max_tokens` (required by Anthropic, so by us: clients written for Anthropic always send it).

Only what every later step relies on is checked here, with the field's name, so a client learns
what to fix; the translator validates the rest block by block. The body stays a plain dict, as on
the OpenAI surface: images and PDFs can be megabytes of base64, not worth copying into models.
Fields we accept and ignore (`metadata`, `cache_control`, `context_management`, `service_tier`,
`container`, `mcp_servers`) are simply never read.
"""

from __future__ import annotations

from typing import Any

from switchyard.errors import InvalidRequest
from switchyard.surfaces import json_body

ANTHROPIC_WORDING = (
    "The request body is not valid JSON",
    "The request body is empty; expected a JSON object.",
)
DROPPED_TOOLS_HEADER = "x-switchyard-dropped-tools"
"""Names the server tools (Anthropic-run: web search, code execution, …) left out of the request."""


def parse_messages_request(raw: bytearray, *, count_only: bool = False) -> dict[str, Any]:
    """The request body as a dict, or the 400 naming the field. Consumes `raw`.
    `count_only`: a `count_tokens` body, which has no `max_tokens` and never streams."""
    body = json_body.load_object(raw, ANTHROPIC_WORDING)
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest("model: Field required (a non-empty string)", param="model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("messages: Field required (a non-empty array)", param="messages")
    if count_only:
        body.pop("stream", None)
        return body
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise InvalidRequest("max_tokens: Field required (an integer of at least 1)", param="max_tokens")
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise InvalidRequest("stream: Input should be a valid boolean", param="stream")
    return body
