"""Errors in the client's dialect: OpenAI's on OpenAI routes, Google's on Gemini-native routes,
Anthropic's on the Messages routes.

Google dialect: everything under `/v1beta/`, the `:generateContent` family (and its `/method` form)
under `/v1/models/...`, and the model listing when the client speaks Google (a key in
`x-goog-api-key` or `?key=`, or Gemini paging parameters). Anthropic dialect: `/v1/messages…`, and
the model listing when the request carries `anthropic-version`. Everything else: OpenAI.

Anthropic's SDKs decide by status and `error.type` (retrying 429, 500 and 529), so the Anthropic
dialect also uses Anthropic's statuses: no capacity (503) is its 529 `overloaded_error`, any other
server-side failure its 500 `api_error`.
"""

from __future__ import annotations

import re
from typing import Literal

import orjson
from starlette.responses import Response

from switchyard.errors import SwitchyardError

Dialect = Literal["openai", "google", "anthropic"]

ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}
_ANTHROPIC_PATH = re.compile(r"/v1/messages(/count_tokens)?$")

_GOOGLE_METHOD = re.compile(
    r"/v1(beta)?/models/[^/]+(:|/)(generateContent|streamGenerateContent|countTokens|embedContent)$"
)
_MODEL_LISTING = re.compile(r"/v1(beta)?/models(/[^/:]+)?$")


def dialect_for(path: str, headers: dict[str, str] | None = None, query: str = "") -> Dialect:
    if _ANTHROPIC_PATH.search(path) or (
        _MODEL_LISTING.search(path) and "anthropic-version" in (headers or {})
    ):
        return "anthropic"
    if "/v1beta/" in path or path.endswith("/v1beta") or _GOOGLE_METHOD.search(path):
        return "google"
    if _MODEL_LISTING.search(path) and speaks_google(headers or {}, query):
        return "google"
    return "openai"


def speaks_google(headers: dict[str, str], query: str) -> bool:
    """Does a request to a shared listing path want the Gemini shape?"""
    if "x-goog-api-key" in headers:
        return True
    params = {part.split("=", 1)[0] for part in query.split("&") if part}
    return bool(params & {"key", "pageSize", "pageToken"})


def anthropic_status(error: SwitchyardError) -> int:
    if error.status == 503:
        return 529
    return 500 if error.status >= 500 else error.status


def error_body(error: SwitchyardError, dialect: Dialect) -> bytes:
    if dialect == "anthropic":
        kind = ANTHROPIC_TYPES.get(anthropic_status(error), "api_error")
        return orjson.dumps({"type": "error", "error": {"type": kind, "message": error.message}})
    if dialect == "google":
        return orjson.dumps(
            {"error": {"code": error.status, "message": error.message, "status": error.google_status}}
        )
    return orjson.dumps(
        {
            "error": {
                "message": error.message,
                "type": error.openai_type,
                "param": error.param,
                "code": error.openai_code,
            }
        }
    )


def error_response(error: SwitchyardError, dialect: Dialect, request_id: str | None = None) -> Response:
    headers = error.headers()
    if request_id:
        headers["x-request-id"] = request_id
    status = anthropic_status(error) if dialect == "anthropic" else error.status
    return Response(
        error_body(error, dialect), status_code=status, media_type="application/json", headers=headers
    )
