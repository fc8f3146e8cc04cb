"""Finding the client key in a request, in every form the contract accepts.

`Authorization: Bearer <key>`, `Authorization: <key>`, `x-goog-api-key: <key>` (also with a
`Bearer ` prefix, as some Gemini clients send it), `x-api-key: <key>` (Anthropic's clients), and
`?key=<key>`.
"""

from __future__ import annotations

from starlette.requests import Request


def _strip_bearer(value: str) -> str:
    value = value.strip()
    if value[:7].lower() == "bearer ":
        return value[7:].strip()
    return value


def presented_key(request: Request) -> str | None:
    headers = request.headers
    goog = headers.get("x-goog-api-key")
    if goog:
        return _strip_bearer(goog) or None
    anthropic = headers.get("x-api-key")
    if anthropic:
        return _strip_bearer(anthropic) or None
    authorization = headers.get("authorization")
    if authorization:
        return _strip_bearer(authorization) or None
    return request.query_params.get("key") or None
