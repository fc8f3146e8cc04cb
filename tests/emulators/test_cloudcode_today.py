"""Cloud Code emulator: what today's service refuses (§12.4, §12.5), the prompt content filter (§12.6),
the image model's settings, and the two quota pools."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from switchyard.emulators.cloudcode import create_app
from tests.emulators.test_cloudcode_support import (
    ACCOUNT,
    CloudCode,
    ask,
    error_of,
    parts_of,
    served,
    user,
    weather_tool,
)
from tests.servers import serve

RFC_LINE = "RFC 2119: MUST, REQUIRED, SHOULD, RECOMMENDED, MAY, OPTIONAL."
BARE_429 = {
    "error": {
        "code": 429,
        "message": "Resource has been exhausted (e.g. check quota).",
        "status": "RESOURCE_EXHAUSTED",
    }
}
THINKING_ONLY = [
    "gemini-pro-agent",
    "gemini-3.1-pro-low",
    "gemini-2.5-flash",
    "gemini-2.5-flash-lite",
    "gemini-3.5-flash-lite",
    "gpt-oss-120b-medium",
]
CLAUDE_THINKING = {
    "maxOutputTokens": 8000,
    "thinkingConfig": {"includeThoughts": True, "thinkingBudget": 2048},
}
QUOTA = 4


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve(create_app(quota_requests=QUOTA)) as base:
        yield base


@pytest.fixture
def cc(server: str) -> Iterator[CloudCode]:
    yield from served(server)


def message_of(response: Any, status: int = 400) -> str:
    assert response.status_code == status, response.text
    message: str = error_of(response)["message"]
    return message


def claude_message(response: Any) -> str:
    inner = json.loads(message_of(response))
    assert inner["type"] == "error" and inner["error"]["type"] == "invalid_request_error"
    message: str = inner["error"]["message"]
    return message


def remaining(cc: CloudCode, model: str) -> Any:
    models = cc.call("fetchAvailableModels", {"project": cc.project()}).json()["models"]
    return models[model]["quotaInfo"].get("remainingFraction")


# --- penalties and budgets --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model", ["gemini-3-flash", "gemini-3.1-pro-low", "gemini-3.8-flash-medium", "gemini-2.5-flash"]
)
@pytest.mark.parametrize("penalty", ["presencePenalty", "frequencyPenalty"])
def test_penalties_are_refused_on_gemini(cc: CloudCode, model: str, penalty: str) -> None:
    response = cc.generate(model, ask("hi", generationConfig={penalty: 0.5}))
    assert message_of(response) == "Penalty is not enabled for this model"
    assert error_of(response)["status"] == "INVALID_ARGUMENT"


def test_gpt_oss_accepts_penalties(cc: CloudCode) -> None:
    config = {"presencePenalty": 0.5, "frequencyPenalty": 0.2}
    assert cc.generate("gpt-oss-120b-medium", ask("hi", generationConfig=config)).status_code == 200


@pytest.mark.parametrize("model", THINKING_ONLY)
def test_budget_zero_on_thinking_only_ids(cc: CloudCode, model: str) -> None:
    response = cc.generate(model, ask("hi", generationConfig={"thinkingConfig": {"thinkingBudget": 0}}))
    assert message_of(response) == "Budget 0 is invalid. This model only works in thinking mode."


@pytest.mark.parametrize("model", ["gemini-3.1-flash-lite", "gemini-3-flash", "gemini-3.7-flash-low"])
def test_budget_zero_turns_thinking_off_elsewhere(cc: CloudCode, model: str) -> None:
    config = {"thinkingConfig": {"thinkingBudget": 0, "includeThoughts": True}}
    body = cc.generate(model, ask("hi", generationConfig=config)).json()["response"]
    assert "thoughtsTokenCount" not in body["usageMetadata"]
    assert not any(p.get("thought") for p in body["candidates"][0]["content"]["parts"])


def thoughts_tokens(cc: CloudCode, model: str, config: dict[str, Any]) -> int:
    response = cc.generate(model, ask("hello there", generationConfig={"thinkingConfig": config}))
    assert response.status_code == 200, response.text
    tokens: int = response.json()["response"]["usageMetadata"]["thoughtsTokenCount"]
    return tokens


def test_tiered_ids_take_a_level_defaulting_to_medium(cc: CloudCode) -> None:
    model = "gemini-3.8-flash-tiered"
    low, medium, high = (
        thoughts_tokens(cc, model, {"thinkingLevel": level}) for level in ("low", "medium", "high")
    )
    assert low < medium < high
    assert thoughts_tokens(cc, model, {}) == medium
    response = cc.generate(
        model, ask("hi", generationConfig={"thinkingConfig": {"thinkingLevel": "extreme"}})
    )
    assert message_of(response) == "Thinking level EXTREME is not supported for this model."


def test_thoughts_whenever_include_thoughts(cc: CloudCode) -> None:
    for model in ("gemini-3.8-flash-high", "gemini-pro-agent", "gpt-oss-120b-medium"):
        config = {"thinkingConfig": {"includeThoughts": True}}
        parts = parts_of(cc.generate(model, ask("hi", generationConfig=config)).json())
        assert parts[0].get("thought") is True, model


# --- Claude -----------------------------------------------------------------------------------------


def test_claude_budget_range_and_max_tokens(cc: CloudCode) -> None:
    config = {"maxOutputTokens": 64000, "thinkingConfig": {"thinkingBudget": 70000}}
    response = cc.generate("claude-sonnet-4-6", ask("hi", generationConfig=config))
    assert (
        claude_message(response)
        == "thinking.enabled.budget_tokens: Input should be less than or equal to 64000"
    )
    config = {"maxOutputTokens": 2048, "thinkingConfig": {"thinkingBudget": 2048}}
    response = cc.generate("claude-opus-4-6-thinking", ask("hi", generationConfig=config))
    assert claude_message(response).startswith("`max_tokens` must be greater than `thinking.budget_tokens`.")
    config = {"maxOutputTokens": 2049, "thinkingConfig": {"thinkingBudget": 2048}}
    assert cc.generate("claude-opus-4-6-thinking", ask("hi", generationConfig=config)).status_code == 200


def test_claude_thinking_with_low_top_p(cc: CloudCode) -> None:
    config = {**CLAUDE_THINKING, "topP": 0.9}
    message = claude_message(cc.generate("claude-sonnet-4-6", ask("hi", generationConfig=config)))
    assert message.startswith(
        "`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled."
    )
    assert (
        cc.generate(
            "claude-sonnet-4-6", ask("hi", generationConfig={**CLAUDE_THINKING, "topP": 0.95})
        ).status_code
        == 200
    )
    assert cc.generate("claude-sonnet-4-6", ask("hi", generationConfig={"topP": 0.5})).status_code == 200


def test_claude_tool_without_schema_type(cc: CloudCode) -> None:
    tools = [
        {
            "functionDeclarations": [
                {"name": "ok", "description": "d", "parameters": {"type": "object", "properties": {}}},
                {"name": "bare", "description": "d", "parameters": {}},
            ]
        }
    ]
    response = cc.generate("claude-sonnet-4-6", ask("hi", tools=tools))
    assert claude_message(response) == "tools.1.custom.input_schema.type: Field required"
    assert cc.generate("gemini-3-flash", ask("hi", tools=tools)).status_code == 200


def claude_signature(cc: CloudCode) -> str:
    parts = parts_of(cc.generate("claude-sonnet-4-6", ask("hi", generationConfig=CLAUDE_THINKING)).json())
    signature: str = next(p["thoughtSignature"] for p in parts if "thoughtSignature" in p)
    return signature


def tool_history(model_parts: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    result = {"functionResponse": {"name": "get_weather", "id": "toolu_1", "response": {"t": 20}}}
    return {
        "contents": [
            user("weather?"),
            {"role": "model", "parts": model_parts},
            {"role": "user", "parts": [result]},
        ],
        "tools": weather_tool(),
        **extra,
    }


CALL = {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}, "id": "toolu_1"}}


def test_claude_tool_turn_must_start_with_thinking(cc: CloudCode) -> None:
    response = cc.generate("claude-sonnet-4-6", tool_history([CALL], generationConfig=CLAUDE_THINKING))
    assert claude_message(response).startswith(
        "messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`."
    )
    text_first = tool_history([{"text": "Let me look."}, CALL], generationConfig=CLAUDE_THINKING)
    assert "but found `text`" in claude_message(cc.generate("claude-sonnet-4-6", text_first))
    assert cc.generate("claude-sonnet-4-6", tool_history([CALL])).status_code == 200
    thought = {"text": "I should look it up.", "thought": True, "thoughtSignature": claude_signature(cc)}
    signed = tool_history([thought, CALL], generationConfig=CLAUDE_THINKING)
    assert cc.generate("claude-sonnet-4-6", signed).status_code == 200


def test_claude_redacted_thinking_without_text(cc: CloudCode) -> None:
    thought = {"text": "", "thought": True, "thoughtSignature": claude_signature(cc)}
    response = cc.generate(
        "claude-sonnet-4-6", tool_history([thought, CALL], generationConfig=CLAUDE_THINKING)
    )
    assert claude_message(response) == "messages.1.content.0.thinking.thinking: Field required"


# --- files ------------------------------------------------------------------------------------------


def test_file_data_with_a_web_url_is_not_found(cc: CloudCode) -> None:
    part = {"fileData": {"mimeType": "image/png", "fileUri": "https://example.com/cat.png"}}
    request = {"contents": [{"role": "user", "parts": [{"text": "what is it?"}, part]}]}
    response = cc.generate("gemini-3-flash", request)
    assert response.status_code == 404
    assert error_of(response) == {
        "code": 404,
        "message": "Requested entity was not found.",
        "status": "NOT_FOUND",
    }
    part["fileData"]["fileUri"] = "gs://bucket/cat.png"
    assert cc.generate("gemini-3-flash", request).status_code == 200


# --- content filter ---------------------------------------------------------------------------------


def with_system(text: str) -> dict[str, Any]:
    return {"systemInstruction": {"role": "user", "parts": [{"text": f"Be careful.\n{text}\nThanks."}]}}


def test_content_filter_answers_the_bare_429_without_spending_quota(cc: CloudCode) -> None:
    for stream in (False, True):
        response = cc.generate("gemini-3-flash", ask("hi", **with_system(RFC_LINE)), stream=stream)
        assert response.status_code == 429
        assert response.json() == BARE_429
    assert remaining(cc, "gemini-3-flash") == 1


@pytest.mark.parametrize(
    "text", [RFC_LINE.lower(), RFC_LINE.replace("MUST", "M\u200bUST"), "RFC 2119 keywords apply."]
)
def test_content_filter_is_an_exact_case_sensitive_match(cc: CloudCode, text: str) -> None:
    assert cc.generate("gemini-3-flash", ask("hi", **with_system(text))).status_code == 200


def test_content_filter_applies_to_agent_requests_and_the_system_instruction_only(cc: CloudCode) -> None:
    body = cc.envelope("claude-sonnet-4-6", ask("hi", **with_system(RFC_LINE)))
    assert cc.call("generateContent", {**body, "requestType": "web_search"}).status_code == 200
    assert (
        cc.call("generateContent", {k: v for k, v in body.items() if k != "requestType"}).status_code == 200
    )
    assert cc.call("generateContent", body).status_code == 429
    assert cc.generate("gemini-3-flash", ask(RFC_LINE)).status_code == 200


def test_content_filter_phrases_via_control_api(cc: CloudCode) -> None:
    assert cc.control("content_filter") == {"phrases": [RFC_LINE]}
    cc.control("content_filter", {"phrases": ["<system-conventions>"]})
    assert cc.generate("gemini-3-flash", ask("hi", **with_system(RFC_LINE))).status_code == 200
    assert cc.generate("gemini-3-flash", ask("hi", **with_system("<system-conventions>"))).status_code == 429
    assert cc.http.post("/_control/content_filter", json={"phrases": "x"}).status_code == 400
    cc.control("reset", {})
    assert cc.generate("gemini-3-flash", ask("hi", **with_system(RFC_LINE))).status_code == 429


# --- image model ------------------------------------------------------------------------------------


def image_size(cc: CloudCode, **image_config: str) -> tuple[int, int]:
    body = cc.envelope(
        "gemini-3.1-flash-image", ask("a lighthouse", generationConfig={"imageConfig": image_config})
    )
    response = cc.call("generateContent", {**body, "requestType": "image_gen"})
    assert response.status_code == 200, response.text
    data = next(p["inlineData"]["data"] for p in parts_of(response.json()) if "inlineData" in p)
    with Image.open(io.BytesIO(base64.b64decode(data))) as image:
        return image.size


@pytest.mark.parametrize(
    ("config", "size"),
    [
        ({"aspectRatio": "1:4"}, (512, 2048)),
        ({"aspectRatio": "4:1", "imageSize": "2K"}, (4096, 1024)),
        ({"aspectRatio": "8:1", "imageSize": "512"}, (1408, 176)),
        ({"aspectRatio": "1:8"}, (352, 2816)),
        ({"aspectRatio": "1:1", "imageSize": "512"}, (512, 512)),
        ({"aspectRatio": "21:9", "imageSize": "1K"}, (1584, 672)),
    ],
)
def test_image_ratios_and_sizes_of_today(
    cc: CloudCode, config: dict[str, str], size: tuple[int, int]
) -> None:
    assert image_size(cc, **config) == size


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"tools": weather_tool()}, "Function calling is not enabled for models/gemini-3.1-flash-image"),
        (
            {"systemInstruction": {"parts": [{"text": "Draw well."}]}},
            "Developer instruction is not enabled for models/gemini-3.1-flash-image",
        ),
    ],
)
def test_image_model_refuses_tools_and_system_instructions(
    cc: CloudCode, extra: dict[str, Any], message: str
) -> None:
    body = cc.envelope("gemini-3.1-flash-image", ask("a cat", **extra))
    assert message_of(cc.call("generateContent", {**body, "requestType": "image_gen"})) == message


# --- quota pools ------------------------------------------------------------------------------------


def test_one_pool_can_be_configured_alone(cc: CloudCode) -> None:
    cc.control("accounts", {"name": ACCOUNT, "pool": "3p", "quota_requests": 1})
    assert cc.generate("gpt-oss-120b-medium", ask("hi")).status_code == 200
    response = cc.generate("claude-sonnet-4-6", ask("hi"))
    assert response.status_code == 429
    assert error_of(response)["details"][0]["reason"] == "QUOTA_EXHAUSTED"
    assert remaining(cc, "claude-opus-4-6-thinking") is None
    assert cc.generate("gemini-3-flash", ask("hi")).status_code == 200
    assert cc.http.post("/_control/accounts", json={"name": ACCOUNT, "pool": "claude"}).status_code == 400


def test_weekly_window_runs_out_before_the_5h_one(cc: CloudCode) -> None:
    cc.control("accounts", {"name": ACCOUNT, "quota_requests": 10, "weekly_quota_requests": 2})
    for _ in range(2):
        assert cc.generate("gemini-3-flash", ask("hi")).status_code == 200
    response = cc.generate("gemini-3.1-pro-low", ask("hi"))
    assert response.status_code == 429
    delay = error_of(response)["details"][0]["metadata"]["quotaResetDelay"]
    assert int(delay.split("h")[0]) > 100  # the weekly window, not the 5h one
    buckets = {
        b["bucketId"]: b
        for g in cc.call("retrieveUserQuotaSummary", {}).json()["groups"]
        for b in g["buckets"]
    }
    assert "remainingFraction" not in buckets["gemini-weekly"]
    assert buckets["gemini-5h"]["remainingFraction"] == pytest.approx(0.8)
    assert buckets["3p-weekly"]["remainingFraction"] == 1


def test_reset_quota_knob_refills_both_windows(cc: CloudCode) -> None:
    for _ in range(QUOTA):
        cc.generate("gemini-3-flash", ask("hi"))
    assert cc.generate("gemini-3-flash", ask("hi")).status_code == 429
    cc.control("accounts", {"name": ACCOUNT, "reset_quota": True})
    assert remaining(cc, "gemini-3-flash") == 1
