"""classify_error on the real error bodies of protocols/antigravity.md §7."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from switchyard.errors import (
    AccountForbidden,
    UpstreamBadRequest,
    UpstreamCapacity,
    UpstreamNotFound,
    UpstreamQuotaExhausted,
    UpstreamRateLimited,
    UpstreamTransient,
    UpstreamUnauthenticated,
)
from switchyard.providers.antigravity.errors import classify_error, parse_go_duration

ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"


def body(code: int, status: str, message: str, *details: dict[str, Any]) -> bytes:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        error["details"] = list(details)
    return orjson.dumps({"error": error})


QUOTA_EXHAUSTED = body(
    429,
    "RESOURCE_EXHAUSTED",
    "You have exhausted your capacity on this model. Your quota will reset after 161h39m41s.",
    {
        "@type": ERROR_INFO,
        "reason": "QUOTA_EXHAUSTED",
        "domain": "cloudcode-pa.googleapis.com",
        "metadata": {
            "uiMessage": "true",
            "model": "claude-sonnet-4-5",
            "quotaResetDelay": "161h39m41.300432511s",
            "quotaResetTimeStamp": "2025-12-18T20:18:34Z",
        },
    },
    {"@type": RETRY_INFO, "retryDelay": "581981.300432511s"},
)
RATE_LIMITED = body(
    429,
    "RESOURCE_EXHAUSTED",
    "You have exhausted your capacity on this model. Your quota will reset after 0s.",
    {"@type": ERROR_INFO, "reason": "RATE_LIMIT_EXCEEDED", "domain": "cloudcode-pa.googleapis.com"},
    {"@type": RETRY_INFO, "retryDelay": "0.479417207s"},
)
BARE_429 = body(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).")
CAPACITY = orjson.dumps(
    {
        "error": {
            "code": 503,
            "status": "UNAVAILABLE",
            "message": "No capacity available for model gemini-3-pro-high on the server",
            "details": [
                {
                    "@type": ERROR_INFO,
                    "reason": "MODEL_CAPACITY_EXHAUSTED",
                    "domain": "cloudcode-pa.googleapis.com",
                    "metadata": {"model": "gemini-3-pro-high"},
                },
                {"@type": RETRY_INFO, "retryDelay": "39s"},
            ],
        }
    }
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0.479417207s", 0.479417207),
        ("1h2m3.5s", 3723.5),
        ("161h39m41.300432511s", 161 * 3600 + 39 * 60 + 41.300432511),
        ("39s", 39.0),
        ("500ms", 0.5),
        ("2m", 120.0),
        ("0", 0.0),
        ("1.5h", 5400.0),
    ],
)
def test_go_durations_parse(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "s", "abc", "1x", "3s trailing", "h1"])
def test_malformed_durations_are_none(text: str) -> None:
    assert parse_go_duration(text) is None


def test_quota_exhausted_cools_down_until_the_reset_timestamp() -> None:
    error = classify_error(429, QUOTA_EXHAUSTED, {})
    assert isinstance(error, UpstreamQuotaExhausted)
    assert error.reason == "QUOTA_EXHAUSTED"
    assert error.upstream_status == 429
    assert error.reset_at == datetime(2025, 12, 18, 20, 18, 34, tzinfo=UTC).timestamp()
    assert "161h39m41s" in error.message


def test_quota_reset_delay_is_used_without_a_timestamp() -> None:
    raw = body(
        429,
        "RESOURCE_EXHAUSTED",
        "quota",
        {"@type": ERROR_INFO, "reason": "QUOTA_EXHAUSTED", "metadata": {"quotaResetDelay": "1h2m3s"}},
    )
    before = time.time()
    error = classify_error(429, raw, {})
    assert isinstance(error, UpstreamQuotaExhausted)
    assert error.reset_at is not None
    assert before + 3723 <= error.reset_at <= time.time() + 3723
    assert error.retry_after == pytest.approx(3723, abs=1)


def test_rate_limit_carries_the_retry_delay() -> None:
    error = classify_error(429, RATE_LIMITED, {})
    assert isinstance(error, UpstreamRateLimited)
    assert error.reason == "RATE_LIMIT_EXCEEDED"
    assert error.retry_after == pytest.approx(0.479417207)
    assert error.headers() == {"Retry-After": "1"}


def test_structured_delay_wins_over_the_message() -> None:
    # The message says 0s; RetryInfo says 1h2m3.5s: the structured field decides.
    raw = body(
        429,
        "RESOURCE_EXHAUSTED",
        "Your quota will reset after 0s.",
        {"@type": ERROR_INFO, "reason": "RATE_LIMIT_EXCEEDED"},
        {"@type": RETRY_INFO, "retryDelay": "1h2m3.5s"},
    )
    error = classify_error(429, raw, {})
    assert isinstance(error, UpstreamRateLimited)
    assert error.retry_after == pytest.approx(3723.5)


def test_bare_429_is_a_rate_limit_without_delay() -> None:
    error = classify_error(429, BARE_429, {})
    assert isinstance(error, UpstreamRateLimited)
    assert error.retry_after is None
    assert "Resource has been exhausted" in error.message


def test_bare_429_honours_retry_after_header() -> None:
    error = classify_error(429, BARE_429, {"Retry-After": "7"})
    assert error.retry_after == 7.0


def test_unstructured_429_with_a_long_reset_in_the_message_is_a_spent_quota() -> None:
    raw = body(
        429,
        "RESOURCE_EXHAUSTED",
        "Individual quota reached. Contact your administrator to enable overages. Resets in 71h15m27s.",
    )
    error = classify_error(429, raw, {})
    assert isinstance(error, UpstreamQuotaExhausted)
    assert error.retry_after == pytest.approx(71 * 3600 + 15 * 60 + 27, abs=1)


def test_unstructured_429_with_a_short_reset_is_a_rate_limit() -> None:
    raw = body(429, "RESOURCE_EXHAUSTED", "Your quota will reset after 12s.")
    error = classify_error(429, raw, {})
    assert isinstance(error, UpstreamRateLimited)
    assert error.retry_after == 12.0


def test_g1_credit_balance_is_a_spent_quota() -> None:
    raw = body(
        429,
        "RESOURCE_EXHAUSTED",
        "credits",
        {"@type": ERROR_INFO, "reason": "INSUFFICIENT_G1_CREDITS_BALANCE"},
    )
    assert isinstance(classify_error(429, raw, {}), UpstreamQuotaExhausted)


def test_capacity_503() -> None:
    error = classify_error(503, CAPACITY, {})
    assert isinstance(error, UpstreamCapacity)
    assert error.reason == "MODEL_CAPACITY_EXHAUSTED"
    assert error.retry_after == 39.0
    assert "gemini-3-pro-high" in error.message


def test_plain_503_is_transient() -> None:
    error = classify_error(503, body(503, "UNAVAILABLE", "The service is currently unavailable."), {})
    assert type(error) is UpstreamTransient


def test_consumer_invalid() -> None:
    raw = body(
        403,
        "PERMISSION_DENIED",
        "Permission denied on resource project rising-fact-p41fc.",
        {
            "@type": ERROR_INFO,
            "reason": "CONSUMER_INVALID",
            "domain": "googleapis.com",
            "metadata": {
                "consumer": "projects/rising-fact-p41fc",
                "service": "cloudaicompanion.googleapis.com",
            },
        },
    )
    error = classify_error(403, raw, {})
    assert isinstance(error, AccountForbidden)
    assert error.reason == "CONSUMER_INVALID"
    assert "rising-fact-p41fc" in error.message


def test_validation_required_carries_the_url() -> None:
    url = "https://accounts.google.com/signin/continue?sarp=1&scc=1&plt=AKgnsbs"
    raw = body(
        403,
        "PERMISSION_DENIED",
        "To continue, verify your account.",
        {"@type": ERROR_INFO, "reason": "VALIDATION_REQUIRED", "metadata": {"validation_url": url}},
    )
    error = classify_error(403, raw, {})
    assert isinstance(error, AccountForbidden)
    assert error.reason == "VALIDATION_REQUIRED"
    assert error.url == url
    assert url in error.message


def test_subscription_required() -> None:
    raw = body(
        403,
        "PERMISSION_DENIED",
        "You are missing a valid license for Gemini Code Assist (#3501)",
        {"@type": ERROR_INFO, "reason": "SUBSCRIPTION_REQUIRED"},
    )
    error = classify_error(403, raw, {})
    assert isinstance(error, AccountForbidden)
    assert error.reason == "SUBSCRIPTION_REQUIRED"
    assert "licence" in error.message


def test_terms_of_service_ban_without_details() -> None:
    raw = body(
        403,
        "PERMISSION_DENIED",
        "This service has been disabled in this account for violation of Terms of Service.",
    )
    error = classify_error(403, raw, {})
    assert isinstance(error, AccountForbidden)
    assert error.reason == "TOS_VIOLATION"


def test_plain_permission_denied() -> None:
    raw = body(403, "PERMISSION_DENIED", "Permission 'cloudaicompanion.companions.generateChat' denied")
    error = classify_error(403, raw, {})
    assert isinstance(error, AccountForbidden)
    assert error.reason == "PERMISSION_DENIED"


def test_401() -> None:
    raw = body(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
    error = classify_error(401, raw, {})
    assert isinstance(error, UpstreamUnauthenticated)
    assert error.upstream_status == 401


def test_400_message_reaches_the_client() -> None:
    message = (
        'Invalid JSON payload received. Unknown name "const" at '
        "'request.tools[0].function_declarations[91].parameters.properties[2]': Cannot find field."
    )
    error = classify_error(400, body(400, "INVALID_ARGUMENT", message), {})
    assert isinstance(error, UpstreamBadRequest)
    assert error.message == message
    assert error.status == 400


def test_400_from_claude_unwraps_the_anthropic_error() -> None:
    inner = {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "messages.1.content.0: Invalid `signature` in `thinking` block",
        },
        "request_id": "req_vrtx_011",
    }
    error = classify_error(400, body(400, "INVALID_ARGUMENT", orjson.dumps(inner).decode()), {})
    assert isinstance(error, UpstreamBadRequest)
    assert error.message == "messages.1.content.0: Invalid `signature` in `thinking` block"


def test_404() -> None:
    error = classify_error(404, body(404, "NOT_FOUND", "Requested entity was not found."), {})
    assert isinstance(error, UpstreamNotFound)


@pytest.mark.parametrize("status", [500, 502, 504])
def test_5xx_is_transient(status: int) -> None:
    error = classify_error(status, body(500, "INTERNAL", "Internal error encountered."), {})
    assert type(error) is UpstreamTransient
    assert error.upstream_status == status


def test_non_json_body() -> None:
    error = classify_error(502, b"<html>Bad Gateway</html>", {})
    assert type(error) is UpstreamTransient
    assert "Bad Gateway" in error.message


def test_list_wrapped_error_body() -> None:
    raw = b"[" + RATE_LIMITED + b"]"
    assert isinstance(classify_error(429, raw, {}), UpstreamRateLimited)
