"""Errors in the client's dialect: OpenAI's on OpenAI routes, Google's on Gemini-native routes.

Google dialect: everything under `/v1beta/`, the `:generateContent` family (and its `/method` form)
under `/v1/models/...`, and the model listing when the client speaks Google (a key in
`x-goog-api-key` or `?key=`, or Gemini paging parameters). Everything else: OpenAI.
"""

from __future__ import annotations

import re
from typing import Literal

import orjson
from starlette.responses import Response

from switchyard.errors import SwitchyardError

Dialect = Literal["openai", "google"]

_GOOGLE_METHOD = re.compile(
    r"/v1(beta)?/models/[^/]+(:|/)(generateContent|streamGenerateContent|countTokens|embedContent)$"
)
_MODEL_LISTING = re.compile(r"/v1(beta)?/models(/[^/:]+)?$")


def dialect_for(path: str, headers: dict[str, str] | None = None, query: str = "") -> Dialect:
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


def error_body(error: SwitchyardError, dialect: Dialect) -> bytes:
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
    return Response(
        error_body(error, dialect), status_code=error.status, media_type="application/json", headers=headers
    )
