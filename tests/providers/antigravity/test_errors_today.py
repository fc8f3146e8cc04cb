"""classify_error on today's error bodies (protocols/antigravity.md §12.6)."""

from __future__ import annotations

import orjson

from switchyard.errors import (
    AccountBanned,
    AccountForbidden,
    AccountNeedsVerification,
    ClientOutdated,
    UpstreamRateLimited,
    UpstreamTransient,
)
from switchyard.providers.antigravity.errors import classify_error, is_bare_429, is_project_error

from .test_errors import BARE_429, ERROR_INFO, body

ACTIVATION_URL = (
    "https://console.developers.google.com/apis/api/cloudcode-pa.googleapis.com/overview?project=12345"
)
SERVICE_DISABLED = body(
    403,
    "PERMISSION_DENIED",
    "Cloud Code Private API has not been used in project 12345 before or it is disabled. Enable it by visiting "
    f"{ACTIVATION_URL} then retry.",
    {
        "@type": ERROR_INFO,
        "reason": "SERVICE_DISABLED",
        "domain": "googleapis.com",
        "metadata": {
            "consumer": "projects/12345",
            "service": "cloudcode-pa.googleapis.com",
            "serviceTitle": "Cloud Code Private API",
            "containerInfo": "12345",
            "activationUrl": ACTIVATION_URL,
        },
    },
    {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US", "message": "…"},
)


def test_service_disabled_is_a_project_error_naming_the_service_and_where_to_enable_it() -> None:
    error = classify_error(403, SERVICE_DISABLED, {})
    assert isinstance(error, AccountForbidden) and is_project_error(error)
    assert error.reason == "SERVICE_DISABLED"
    assert error.url == ACTIVATION_URL
    assert "Cloud Code Private API" in error.message


def test_a_google_error_serialized_inside_the_message_is_classified_by_its_inner_error() -> None:
    inner = orjson.loads(SERVICE_DISABLED)
    wrapped = orjson.dumps({"error": {"code": 403, "message": orjson.dumps(inner).decode(), "status": ""}})
    error = classify_error(403, wrapped, {})
    assert is_project_error(error) and error.url == ACTIVATION_URL


def test_the_companion_variant_of_service_disabled_is_a_project_error() -> None:
    raw = body(
        403,
        "PERMISSION_DENIED",
        "Gemini for Google Cloud API has not been used in project 9 before or it is disabled.",
        {
            "@type": ERROR_INFO,
            "reason": "SERVICE_DISABLED",
            "domain": "googleapis.com",
            "metadata": {
                "service": "cloudaicompanion.googleapis.com",
                "serviceTitle": "Gemini for Google Cloud API",
            },
        },
    )
    error = classify_error(403, raw, {})
    assert is_project_error(error) and "Gemini for Google Cloud API" in error.message


def verification(url: str, message: str = "Verify your account to continue.") -> bytes:
    return body(
        403,
        "PERMISSION_DENIED",
        message,
        {
            "@type": ERROR_INFO,
            "reason": "VALIDATION_REQUIRED",
            "domain": "cloudcode-pa.googleapis.com",
            "metadata": {
                "validation_error_message": "Verify your account to continue.",
                "validation_url_link_text": "Verify your account",
                "validation_url": url,
            },
        },
    )


def test_validation_required_passes_on_a_google_sign_in_link() -> None:
    url = "https://accounts.google.com/signin/continue?sarp=1&scc=1&plt=AKgnsbs"
    error = classify_error(403, verification(url), {})
    assert isinstance(error, AccountNeedsVerification)
    assert error.url == url and url in error.message


def test_validation_required_shows_no_link_that_is_not_google_sign_in() -> None:
    bad = "https://accounts.google.com.evil.example/verify"
    error = classify_error(403, verification(bad, f"To continue, verify your account at {bad} ."), {})
    assert isinstance(error, AccountNeedsVerification)
    assert error.url is None and "evil" not in error.message


def test_a_terms_of_service_ban_is_banned_with_the_appeal_url() -> None:
    appeal = "https://support.google.com/gemini/contact/appeal"
    raw = body(
        403,
        "PERMISSION_DENIED",
        "This service has been disabled in this account for violation of Terms of Service. Please submit an "
        "appeal to continue using this product.",
        {
            "@type": ERROR_INFO,
            "reason": "TOS_VIOLATION",
            "domain": "cloudcode-pa.googleapis.com",
            "metadata": {"appeal_url": appeal, "appeal_url_link_text": "Submit an appeal"},
        },
    )
    error = classify_error(403, raw, {})
    assert isinstance(error, AccountBanned)
    assert error.url == appeal and appeal in error.message


def test_a_503_saying_the_version_is_no_longer_supported_is_client_outdated() -> None:
    raw = body(
        503,
        "UNAVAILABLE",
        "This version of Antigravity is no longer supported. Please upgrade to receive the latest features.",
    )
    assert isinstance(classify_error(503, raw, {}), ClientOutdated)
    assert isinstance(classify_error(503, body(503, "UNAVAILABLE", "backend error"), {}), UpstreamTransient)


def test_only_the_detail_less_429_is_the_bare_one() -> None:
    bare = classify_error(429, BARE_429, {})
    assert isinstance(bare, UpstreamRateLimited) and is_bare_429(bare)
    structured = classify_error(
        429,
        body(429, "RESOURCE_EXHAUSTED", "slow down", {"@type": ERROR_INFO, "reason": "RATE_LIMIT_EXCEEDED"}),
        {},
    )
    assert not is_bare_429(structured)
