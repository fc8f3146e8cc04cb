"""One retry with the anchors' recovery when the upstream refuses a replayed signature (§12.6)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_gemini_native_google import WEATHER_TOOL, _post, _stream
from tests.stack import Stack

FOREIGN = "RmFicmljYXRlZCBzaWduYXR1cmUgZnJvbSBlbHNld2hlcmU="  # base64, but no model issued it
QUESTION = {"role": "user", "parts": [{"text": "Weather in Paris?"}]}
RESULT = {
    "role": "user",
    "parts": [{"functionResponse": {"name": "get_weather", "id": "c1", "response": {"t": 21}}}],
}
CALL = {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}, "id": "c1"}}


def _history(model_parts: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "contents": [QUESTION, {"role": "model", "parts": model_parts}, RESULT],
        "tools": [WEATHER_TOOL],
        **extra,
    }


@pytest.mark.parametrize("stream", [False, True], ids=["unary", "stream"])
def test_corrupted_gemini_signature_is_retried_with_the_sentinel(stack: Stack, stream: bool) -> None:
    body = _history([{**CALL, "thoughtSignature": FOREIGN}])
    key = stack.create_key()
    if stream:
        assert any("candidates" in event for event in _stream(stack, key, "gemini-3-flash", body))
    else:
        response = _post(stack, key, "gemini-3-flash", body)
        assert response.status_code == 200, response.text
    first, second = stack.upstream_requests("enerateContent")[-2:]
    assert first["body"]["request"]["contents"][1]["parts"][0]["thoughtSignature"] == FOREIGN
    assert second["body"]["request"]["contents"][1]["parts"][0]["thoughtSignature"] == (
        "skip_thought_signature_validator"
    )


def test_invalid_claude_thinking_signature_drops_the_thinking(stack: Stack) -> None:
    thought = {"text": "I will look it up", "thought": True, "thoughtSignature": FOREIGN}
    body = _history([thought, CALL], generationConfig={"thinkingConfig": {"includeThoughts": True}})
    response = _post(stack, stack.create_key(), "claude-sonnet-4-6", body)
    assert response.status_code == 200, response.text
    first, second = stack.upstream_requests("enerateContent")[-2:]
    assert first["body"]["request"]["contents"][1]["parts"][0]["thought"] is True
    retried = second["body"]["request"]
    assert all(not part.get("thought") for part in retried["contents"][1]["parts"])
    assert "thinkingConfig" not in retried.get("generationConfig", {})
