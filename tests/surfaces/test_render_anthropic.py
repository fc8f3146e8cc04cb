"""Anthropic's error dialect: the statuses and `error.type` values its SDKs decide on."""

from __future__ import annotations

import orjson
import pytest

from switchyard.errors import (
    AuthenticationFailed,
    InternalError,
    InvalidRequest,
    NoAccountAvailable,
    NoAccountConfigured,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    SwitchyardError,
    UpstreamCapacity,
    UpstreamTransient,
)
from switchyard.surfaces.render import dialect_for, error_response


@pytest.mark.parametrize(
    ("error", "status", "kind"),
    [
        (InvalidRequest("x"), 400, "invalid_request_error"),
        (AuthenticationFailed("x"), 401, "authentication_error"),
        (PermissionDenied("x"), 403, "permission_error"),
        (NotFound("x"), 404, "not_found_error"),
        (PayloadTooLarge("x"), 413, "request_too_large"),
        (NoAccountAvailable("x", retry_after=3), 429, "rate_limit_error"),
        (InternalError("x"), 500, "api_error"),
        (UpstreamTransient("x"), 500, "api_error"),
        (UpstreamCapacity("x"), 529, "overloaded_error"),
        (NoAccountConfigured("x"), 529, "overloaded_error"),
    ],
)
def test_anthropic_statuses_and_types(error: SwitchyardError, status: int, kind: str) -> None:
    response = error_response(error, "anthropic")
    assert response.status_code == status
    assert orjson.loads(response.body) == {"type": "error", "error": {"type": kind, "message": "x"}}


def test_dialect_by_path_and_header() -> None:
    assert dialect_for("/antigravity/v1/messages") == "anthropic"
    assert dialect_for("/gemini_official/v1/messages/count_tokens") == "anthropic"
    assert dialect_for("/antigravity/v1/models", {"anthropic-version": "2023-06-01"}) == "anthropic"
    assert dialect_for("/antigravity/v1/models") == "openai"
    assert dialect_for("/antigravity/v1/chat/completions", {"anthropic-version": "2023-06-01"}) == "openai"
