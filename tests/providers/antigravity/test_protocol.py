"""The `v1internal` envelope and headers (protocols §2, §4)."""

from __future__ import annotations

import re
from typing import Any

from switchyard.config import Settings
from switchyard.providers.antigravity.protocol import (
    build_envelope,
    count_tokens_body,
    onboard_headers,
    request_headers,
    stable_session_id,
    unwrap_response,
)


def conversation(*turns: tuple[str, str]) -> dict[str, Any]:
    return {"contents": [{"role": role, "parts": [{"text": text}]} for role, text in turns]}


def test_envelope_fields() -> None:
    request = {
        **conversation(("user", "hi")),
        "systemInstruction": {"role": "user", "parts": [{"text": "be brief"}]},
        "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "OFF"}],
        "model": "gemini-2.5-flash",
    }
    envelope = build_envelope(
        project="useful-fuze-abc12", upstream_model="gemini-3-pro-high", request=request
    )
    assert envelope["project"] == "useful-fuze-abc12"
    assert envelope["model"] == "gemini-3-pro-high"
    assert envelope["userAgent"] == "antigravity"
    assert envelope["requestType"] == "agent"
    assert re.fullmatch(r"agent-[0-9a-f-]{36}", envelope["requestId"])
    inner = envelope["request"]
    assert "safetySettings" not in inner and "model" not in inner
    assert inner["systemInstruction"] == request["systemInstruction"]
    assert inner["sessionId"] == "-1099796703622425494"  # "-" + int63(SHA-256("hi")[:8])
    assert "safetySettings" in request, "the caller's request must not change"
    assert inner["contents"] is request["contents"]


def test_image_request_type() -> None:
    envelope = build_envelope(
        project="p",
        upstream_model="gemini-3-pro-image",
        request=conversation(("user", "a cat")),
        request_type="image_gen",
    )
    assert envelope["requestType"] == "image_gen"
    assert envelope["requestId"].startswith("image_gen-")


def test_session_id_is_stable_across_turns_of_one_conversation() -> None:
    first = conversation(("user", "What model are you?"))
    later = conversation(("user", "What model are you?"), ("model", "Gemini."), ("user", "Sure?"))
    other = conversation(("user", "Something else"))
    assert stable_session_id(first) == stable_session_id(later) == "-7207269224560597711"
    assert stable_session_id(other) != stable_session_id(first)


def test_session_id_skips_turns_without_text_and_defaults_missing_roles_to_user() -> None:
    request = {
        "contents": [
            {"role": "user", "parts": [{"inlineData": {"mimeType": "image/png", "data": "AAAA"}}]},
            {"parts": [{"text": "hi"}]},
        ]
    }
    assert stable_session_id(request) == "-1099796703622425494"


def test_session_id_without_user_text_is_random_int63() -> None:
    ids = {stable_session_id({"contents": []}) for _ in range(5)}
    assert len(ids) == 5
    for value in ids:
        assert value.startswith("-") and 0 <= int(value[1:]) < 2**63


def test_explicit_session_ids() -> None:
    request = conversation(("user", "hi"))
    assert (
        build_envelope(project="p", upstream_model="m", request=request, session_id="-42")["request"][
            "sessionId"
        ]
        == "-42"
    )
    own = {**request, "sessionId": "-7"}
    assert (
        build_envelope(project="p", upstream_model="m", request=own, session_id="-42")["request"]["sessionId"]
        == "-7"
    )


def test_headers() -> None:
    settings = Settings(antigravity_user_agent="antigravity/hub/2.9.1 darwin/arm64")
    headers = request_headers(settings, "ya29.token", stream=True)
    assert headers["Authorization"] == "Bearer ya29.token"
    assert headers["User-Agent"] == "antigravity/hub/2.9.1 darwin/arm64"
    assert headers["Accept"] == "text/event-stream"
    assert headers["Content-Type"] == "application/json"
    assert request_headers(settings, "t")["Accept"] == "application/json"


def test_count_tokens_body() -> None:
    request = {**conversation(("user", "hi")), "safetySettings": [], "model": "x"}
    assert count_tokens_body(request) == {"request": {"contents": request["contents"]}}


def test_unwrap_response() -> None:
    assert unwrap_response({"response": {"candidates": []}, "traceId": "ab"}) == {"candidates": []}
    assert unwrap_response({"traceId": "ab"}) is None
    assert unwrap_response([1]) is None


def test_an_accounts_own_user_agent_wins_over_the_setting() -> None:
    settings = Settings()
    assert settings.antigravity_user_agent == "antigravity/hub/2.11.0 darwin/arm64"
    own = "antigravity/cli/1.1.22 darwin/arm64"
    assert request_headers(settings, "t", user_agent=own)["User-Agent"] == own
    assert request_headers(settings, "t", user_agent=None)["User-Agent"] == settings.antigravity_user_agent
    assert onboard_headers(settings, "t", own)["User-Agent"].startswith(own + " google-api-nodejs-client/")
