"""Cloud Code emulator: today's catalogue (§12.1, §12.2), retired ids, client-version gating (§12.3)
and run-time retirement through the control API."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from switchyard.emulators.cloudcode import create_app
from tests.emulators.test_cloudcode_support import CloudCode, ask, error_of, parts_of, served, sse_events
from tests.servers import serve

SEPT_IDS = {
    *(f"gemini-{v}-flash-{t}" for v in ("3.8", "3.7", "3.6") for t in ("high", "medium", "low", "tiered")),
    "gemini-3-flash", "gemini-pro-agent", "gemini-3.1-pro-low", "gemini-3.1-pro-high", "gemini-3.1-flash-lite",
    "gemini-3.5-flash-lite", "gemini-3.1-flash-image", "claude-sonnet-4-6", "claude-opus-4-6-thinking",
    "gpt-oss-120b-medium", "gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite",
    "gemini-2.5-flash-thinking", "chat_20706", "chat_23310", "tab_flash_lite_preview",
    "tab_jump_flash_lite_preview",
}  # fmt: skip
INTERNAL_IDS = {"chat_20706", "chat_23310", "tab_flash_lite_preview", "tab_jump_flash_lite_preview"}
CLAUDE_IDS = {"claude-sonnet-4-6", "claude-opus-4-6-thinking"}
UNSUPPORTED = (
    "This version of Antigravity is no longer supported. Please upgrade to receive the latest features."
)
LATEST = " in the latest version of Antigravity."
RETIRED_TEXTS = {
    "claude-opus-4-5-thinking": "Claude Opus 4.5 (Thinking) is no longer available. Please switch to Claude Opus 4.6 (Thinking).",
    "claude-sonnet-4-5": "Claude Sonnet 4.5 is no longer available. Please switch to Claude Sonnet 4.6.",
    "claude-sonnet-4-5-thinking": "Claude Sonnet 4.5 (Thinking) is no longer available. Please switch to Claude Sonnet 4.6"
    + LATEST,
    "gemini-3-pro-high": "Gemini 3 Pro (High) is no longer available. Please switch to Gemini 3.1 Pro (High)"
    + LATEST,
    "gemini-3-pro-low": "Gemini 3 Pro (Low) is no longer available. Please switch to Gemini 3.1 Pro (Low).",
    "gemini-3-pro-image": "Gemini 3 Pro Image is no longer available. Please switch to Gemini 3.1 Flash Image.",
    "gemini-3.1-flash-lite-preview": "gemini-3.1-flash-lite-preview is no longer available. Please switch to gemini-3.1-flash-lite.",
    "gemini-3.1-pro-high": "gemini-3.1-pro-high is no longer available. Please switch to gemini-pro-agent.",
    "gemini-3-flash-agent": "Gemini 3.5 Flash (High) is no longer available. Please switch to Gemini 3.7 Flash (High)"
    + LATEST,
    "gemini-3.5-flash-low": "Gemini 3.5 Flash (Medium) is no longer available. Please switch to Gemini 3.7 Flash (Medium)"
    + LATEST,
    "gemini-3.5-flash-extra-low": "Gemini 3.5 Flash (Low) is no longer available. Please switch to Gemini 3.7 Flash (Low).",
}
FLASH_38 = {f"gemini-3.8-flash-{t}" for t in ("high", "medium", "low", "tiered")}
FLASH_37 = {f"gemini-3.7-flash-{t}" for t in ("high", "medium", "low", "tiered")}


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve(create_app()) as base:
        yield base


@pytest.fixture
def cc(server: str) -> Iterator[CloudCode]:
    yield from served(server)


def catalogue(cc: CloudCode, user_agent: str | None = None) -> dict[str, Any]:
    headers = {"User-Agent": user_agent} if user_agent is not None else {}
    response = cc.call("fetchAvailableModels", {"project": cc.project()}, headers=headers)
    assert response.status_code == 200, response.text
    reply: dict[str, Any] = response.json()
    return reply


def answer_text(cc: CloudCode, model: str, *, user_agent: str | None = None, stream: bool = False) -> str:
    headers = {"User-Agent": user_agent} if user_agent is not None else {}
    method = "streamGenerateContent" if stream else "generateContent"
    response = cc.call(method, cc.envelope(model, ask("hi")), headers=headers)
    assert response.status_code == 200, response.text
    payloads = sse_events(response.text) if stream else [response.json()]
    return "".join(p.get("text", "") for payload in payloads for p in parts_of(payload))


# --- the September reply ----------------------------------------------------------------------------


def test_catalogue_lists_todays_ids_and_nothing_retired(cc: CloudCode) -> None:
    reply = catalogue(cc)
    assert set(reply["models"]) == SEPT_IDS
    assert not set(reply["models"]) & set(RETIRED_TEXTS) - {"gemini-3.1-pro-high"}


def test_top_level_lists(cc: CloudCode) -> None:
    reply = catalogue(cc)
    assert reply["defaultAgentModelId"] == "gemini-3.8-flash-high"
    assert reply["tieredModelIds"] == {
        "flashLite": ["gemini-3.5-flash-lite"],
        "flash": ["gemini-3.8-flash-tiered"],
        "pro": ["gemini-3.1-pro-low"],
    }
    assert reply["deprecatedModelIds"] == {
        "gemini-3.1-pro-high": {
            "newModelId": "gemini-pro-agent",
            "oldModelEnum": reply["models"]["gemini-3.1-pro-high"]["model"],
            "newModelEnum": reply["models"]["gemini-pro-agent"]["model"],
        }
    }
    assert reply["imageGenerationModelIds"] == ["gemini-3.1-flash-image"]
    assert reply["webSearchModelIds"] == ["gemini-3.1-flash-lite"]
    assert reply["mqueryModelIds"] == ["gemini-3.1-flash-lite"]
    assert reply["commitMessageModelIds"] == ["gemini-3.5-flash-lite"]
    assert reply["commandModelIds"] == ["gemini-3-flash"]
    assert set(reply["tabModelIds"]) <= INTERNAL_IDS
    assert all(isinstance(i, int) for i in reply["experimentIds"])
    sorted_ids = {m for sort in reply["agentModelSorts"] for g in sort["groups"] for m in g["modelIds"]}
    assert {"gemini-3.8-flash-high", "claude-sonnet-4-6", "gemini-3.6-flash-low"} <= sorted_ids


def test_entries_carry_the_reply_fields(cc: CloudCode) -> None:
    models = catalogue(cc)["models"]
    sonnet = models["claude-sonnet-4-6"]
    assert sonnet["displayName"] == "Claude Sonnet 4.6 (Thinking)"
    assert (sonnet["maxTokens"], sonnet["maxOutputTokens"], sonnet["thinkingBudget"]) == (250000, 64000, 1024)
    assert sonnet["vertexModelId"] == "claude-sonnet-4-6@default"
    assert (sonnet["apiProvider"], sonnet["modelProvider"]) == (
        "API_PROVIDER_ANTHROPIC_VERTEX",
        "MODEL_PROVIDER_ANTHROPIC",
    )
    oss = models["gpt-oss-120b-medium"]
    assert (oss["thinkingBudget"], oss["maxTokens"], oss["maxOutputTokens"]) == (8192, 131072, 32768)
    assert oss["apiProvider"] == "API_PROVIDER_OPENAI_VERTEX"
    assert models["gemini-pro-agent"]["displayName"] == "Gemini 3.1 Pro (High)"
    assert models["gemini-3.1-pro-high"]["tagTitle"] == "New"
    assert models["gemini-3.7-flash-medium"]["thinkingBudget"] == 4000
    assert models["gemini-3.7-flash-medium"]["minThinkingBudget"] == 32
    assert "supportsThinking" not in models["gemini-3.1-flash-lite"]
    assert models["gemini-2.5-flash"]["displayName"] == "Gemini 3.5 Flash Lite"
    assert models["gemini-2.5-flash-lite"]["displayName"] == "Gemini 3.1 Flash Lite"
    for model_id, entry in models.items():
        assert re.fullmatch(r"MODEL_[A-Z0-9_]+", entry["model"]), model_id
        assert ("displayName" in entry) == (not model_id.endswith("-tiered") and model_id not in INTERNAL_IDS)
        retry = entry.get("modelExperiments", {}).get("experiments", {}).get("retry_model_capacity_exhausted")
        assert (retry == {"boolValue": True}) == (model_id in CLAUDE_IDS | {"gemini-2.5-flash"})
    for internal in INTERNAL_IDS:
        assert models[internal]["isInternal"] is True
        assert models[internal]["quotaInfo"] == {"remainingFraction": 1}


def test_quota_info_is_the_pools(cc: CloudCode) -> None:
    assert cc.generate("gpt-oss-120b-medium", ask("hi")).status_code == 200
    models = catalogue(cc)["models"]
    third_party = {models[m]["quotaInfo"]["remainingFraction"] for m in CLAUDE_IDS | {"gpt-oss-120b-medium"}}
    assert third_party == {0.995}
    gemini = {
        entry["quotaInfo"]["remainingFraction"] for m, entry in models.items() if m.startswith("gemini")
    }
    assert gemini == {1}
    assert len({models[m]["quotaInfo"]["resetTime"] for m in CLAUDE_IDS}) == 1


# --- retired and unknown ids ------------------------------------------------------------------------


@pytest.mark.parametrize("model", sorted(RETIRED_TEXTS))
@pytest.mark.parametrize("stream", [False, True])
def test_retired_ids_answer_200_with_the_switch_text(cc: CloudCode, model: str, stream: bool) -> None:
    assert answer_text(cc, model, stream=stream) == RETIRED_TEXTS[model]


def test_retired_answer_is_a_normal_turn_without_tokens(cc: CloudCode) -> None:
    body = cc.generate("claude-sonnet-4-5", ask("hi")).json()["response"]
    assert body["candidates"][0]["finishReason"] == "STOP"
    assert body["candidates"][0]["content"]["role"] == "model"
    assert body["usageMetadata"]["totalTokenCount"] == 0
    assert body["modelVersion"] == "claude-sonnet-4-5"


def test_unknown_id_is_404(cc: CloudCode) -> None:
    response = cc.generate("gemini-4-ultra", ask("hi"))
    assert response.status_code == 404
    assert error_of(response) == {
        "code": 404,
        "message": "Requested entity was not found.",
        "status": "NOT_FOUND",
    }


# --- client versions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "user_agent",
    ["", "python-httpx/0.28", "antigravity/hub/1.21.9 darwin/arm64", "antigravity/1.11.5 windows/amd64"],
)
def test_clients_below_the_global_floor_get_the_upgrade_text(cc: CloudCode, user_agent: str) -> None:
    assert answer_text(cc, "gemini-3-flash", user_agent=user_agent) == UNSUPPORTED
    assert answer_text(cc, "claude-sonnet-4-6", user_agent=user_agent, stream=True) == UNSUPPORTED


@pytest.mark.parametrize(
    "user_agent",
    [
        "antigravity/hub/1.22.0 darwin/arm64",
        "antigravity/cli/1.1.12 windows/amd64",
        "Antigravity/4.3.0 (Macintosh; Intel Mac OS X 10_15_7) Chrome/132.0.6834.160 Electron/39.2.3",
    ],
)
def test_supported_clients_are_answered(cc: CloudCode, user_agent: str) -> None:
    assert answer_text(cc, "gemini-3-flash", user_agent=user_agent).startswith("Echo (gemini-3-flash)")


def test_models_newer_than_the_client_are_hidden_and_404(cc: CloudCode) -> None:
    hub_291 = "antigravity/hub/2.9.1 darwin/arm64"
    reply = catalogue(cc, hub_291)
    assert not FLASH_38 & set(reply["models"]) and set(reply["models"]) >= FLASH_37
    assert reply["defaultAgentModelId"] == "gemini-3.7-flash-high"
    assert reply["tieredModelIds"]["flash"] == ["gemini-3.7-flash-tiered"]
    response = cc.call(
        "generateContent", cc.envelope("gemini-3.8-flash-high", ask("hi")), headers={"User-Agent": hub_291}
    )
    assert response.status_code == 404
    assert error_of(response)["message"] == "Requested entity was not found."
    hub_221 = "antigravity/hub/2.2.1 darwin/arm64"
    assert not FLASH_37 & set(catalogue(cc, hub_221)["models"])
    response = cc.call(
        "generateContent", cc.envelope("gemini-3.7-flash-high", ask("hi")), headers={"User-Agent": hub_221}
    )
    assert response.status_code == 404
    assert set(catalogue(cc, "antigravity/hub/2.11.0 darwin/arm64")["models"]) >= FLASH_38


def test_floors_are_set_through_the_control_api_and_reset(cc: CloudCode) -> None:
    floors = cc.control("versions", {"floor": "2.12.0", "model_floors": {"gemini-3-flash": "3.0.0"}})
    assert floors["floor"] == "2.12.0" and floors["model_floors"]["gemini-3-flash"] == "3.0.0"
    assert answer_text(cc, "claude-sonnet-4-6") == UNSUPPORTED
    cc.control("versions", {"floor": "1.0.0"})
    assert "gemini-3-flash" not in catalogue(cc)["models"]
    assert cc.generate("gemini-3-flash", ask("hi")).status_code == 404
    cc.control("reset", {})
    assert cc.control("versions")["floor"] == "1.22.0"
    assert cc.control("versions")["model_floors"]["gemini-3.8-flash-high"] == "2.11.0"
    assert cc.generate("gemini-3-flash", ask("hi")).status_code == 200
    assert cc.http.post("/_control/versions", json={"floor": "two"}).status_code == 400


# --- run-time retirement ----------------------------------------------------------------------------


def test_retire_a_model_live(cc: CloudCode) -> None:
    cc.control("retire", {"model": "gemini-3-flash", "replacement": "gemini-3.8-flash-high"})
    reply = catalogue(cc)
    assert "gemini-3-flash" not in reply["models"] and "gemini-3-flash" not in reply["deprecatedModelIds"]
    assert reply["commandModelIds"] == []
    expected = "Gemini 3 Flash is no longer available. Please switch to Gemini 3.8 Flash (High)."
    assert answer_text(cc, "gemini-3-flash") == expected
    assert answer_text(cc, "gemini-3-flash", stream=True) == expected
    cc.control("reset", {})
    assert "gemini-3-flash" in catalogue(cc)["models"]
    assert answer_text(cc, "gemini-3-flash").startswith("Echo (gemini-3-flash)")


def test_retire_as_deprecated_keeps_it_listed_and_forwarded(cc: CloudCode) -> None:
    spec = {"model": "claude-opus-4-6-thinking", "replacement": "claude-sonnet-4-6", "deprecated": True}
    cc.control("retire", {**spec, "latest_version": True})
    reply = catalogue(cc)
    assert "claude-opus-4-6-thinking" in reply["models"]
    assert reply["deprecatedModelIds"]["claude-opus-4-6-thinking"] == {
        "newModelId": "claude-sonnet-4-6",
        "oldModelEnum": reply["models"]["claude-opus-4-6-thinking"]["model"],
        "newModelEnum": reply["models"]["claude-sonnet-4-6"]["model"],
    }
    assert answer_text(cc, "claude-opus-4-6-thinking") == (
        "Claude Opus 4.6 (Thinking) is no longer available. Please switch to Claude Sonnet 4.6 (Thinking)"
        + LATEST
    )


def test_retire_refuses_an_unknown_replacement(cc: CloudCode) -> None:
    response = cc.http.post("/_control/retire", json={"model": "gemini-3-flash", "replacement": "gemini-9"})
    assert response.status_code == 400
    assert answer_text(cc, "gemini-3-flash").startswith("Echo (gemini-3-flash)")
