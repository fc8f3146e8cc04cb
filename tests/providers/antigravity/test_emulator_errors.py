"""classify_error agrees with the error bodies the Cloud Code emulator builds (both follow §7).

The emulator is written from the protocol notes independently of the gateway; if either side drifts
from the notes, this is where the two disagree first.
"""

from __future__ import annotations

import json
import time

import pytest

from switchyard.emulators import cloudcode_errors as emulated
from switchyard.errors import (
    AccountForbidden,
    UpstreamBadRequest,
    UpstreamCapacity,
    UpstreamError,
    UpstreamNotFound,
    UpstreamQuotaExhausted,
    UpstreamRateLimited,
    UpstreamTransient,
    UpstreamUnauthenticated,
)
from switchyard.providers.antigravity.errors import classify_error


def classify(error: emulated.CloudCodeError) -> UpstreamError:
    return classify_error(error.status, json.dumps(error.body).encode(), {})


def test_quota_exhausted() -> None:
    before = time.time()
    error = classify(emulated.quota_exhausted("claude-sonnet-4-5", 3723))
    assert isinstance(error, UpstreamQuotaExhausted)
    assert error.reset_at is not None
    assert before + 3722 <= error.reset_at <= time.time() + 3724
    assert error.retry_after == pytest.approx(3723, abs=2)


def test_rate_limited() -> None:
    error = classify(emulated.rate_limited("gemini-2.5-flash", 0.479417207))
    assert isinstance(error, UpstreamRateLimited)
    assert error.retry_after == pytest.approx(0.479417207)


def test_bare_429() -> None:
    error = classify(emulated.bare_429())
    assert isinstance(error, UpstreamRateLimited)
    assert error.retry_after is None


def test_capacity() -> None:
    error = classify(emulated.capacity_exhausted("gemini-3-pro-high", 39))
    assert isinstance(error, UpstreamCapacity)
    assert error.retry_after == 39
    assert isinstance(classify(emulated.capacity_exhausted("gemini-3-pro-high", None)), UpstreamCapacity)


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("VALIDATION_REQUIRED", "VALIDATION_REQUIRED"),
        ("TOS_VIOLATION", "TOS_VIOLATION"),
        ("SUBSCRIPTION_REQUIRED", "SUBSCRIPTION_REQUIRED"),
        ("CONSUMER_INVALID", "CONSUMER_INVALID"),
        ("IAM_PERMISSION_DENIED", "IAM_PERMISSION_DENIED"),
    ],
)
def test_forbidden(reason: str, expected: str) -> None:
    error = classify(emulated.forbidden(reason, project="useful-fuze-abc12", params={}))
    assert isinstance(error, AccountForbidden)
    assert error.reason == expected
    if reason == "VALIDATION_REQUIRED":
        assert error.url == emulated.DEFAULT_VALIDATION_URL


def test_unauthenticated() -> None:
    error = classify(emulated.unauthenticated("ACCESS_TOKEN_EXPIRED", "GenerateContent"))
    assert isinstance(error, UpstreamUnauthenticated)


def test_bad_requests_pass_the_message_on() -> None:
    error = classify(emulated.invalid_payload([emulated.unknown_field("const", "request.tools[0]")]))
    assert isinstance(error, UpstreamBadRequest)
    assert 'Unknown name "const"' in error.message
    claude = classify(
        emulated.anthropic_invalid_request("messages.1.content.0: Invalid `signature` in `thinking` block")
    )
    assert claude.message == "messages.1.content.0: Invalid `signature` in `thinking` block"


def test_not_found_and_server_error() -> None:
    assert isinstance(classify(emulated.model_not_found()), UpstreamNotFound)
    assert type(classify(emulated.server_error())) is UpstreamTransient
