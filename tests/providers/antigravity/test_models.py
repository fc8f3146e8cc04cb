"""The public catalogue and the public id → upstream mapping (api-contract.md, protocols §6.2)."""

from __future__ import annotations

from typing import Any

import pytest

from switchyard.providers.antigravity.models import (
    apply_model_config,
    model_family,
    public_model_ids,
    public_models,
    resolve_model,
)

CONTRACT_MODELS = [
    "gemini-2.5-flash",
    "gemini-2.5-flash-image",
    "gemini-2.5-flash-lite",
    "gemini-2.5-flash-thinking",
    "gemini-2.5-pro",
    "gemini-3-pro-image",
    "gemini-3-pro-low",
    "gemini-3-pro-high",
    "claude-sonnet-4-5",
    "claude-sonnet-4-5-thinking",
    "gpt-oss-120b-medium",
]


def test_public_list_is_exactly_the_contract() -> None:
    assert public_model_ids() == CONTRACT_MODELS


def test_extra_upstream_models_are_listed_and_internal_ones_hidden() -> None:
    available: dict[str, Any] = {
        "gemini-2.5-flash": {"displayName": "Gemini 2.5 Flash"},
        "gemini-2.5-flash-thinking": {},
        "claude-opus-4-5-thinking": {"displayName": "Claude Opus 4.5 (Thinking)"},
        "gemini-3-flash": {"displayName": "Gemini 3 Flash"},
        "chat_20706": {},
        "tab_flash_lite_preview": {},
        "tab_jump_flash_lite_preview": {},
    }
    models = public_models(available)
    ids = [spec.public_id for spec in models]
    assert ids == [*CONTRACT_MODELS, "claude-opus-4-5-thinking", "gemini-3-flash"]
    opus = models[-2]
    assert opus.display_name == "Claude Opus 4.5 (Thinking)"
    assert opus.family == "claude"
    assert public_model_ids(["gemini-3-flash", "chat_23310"]) == [*CONTRACT_MODELS, "gemini-3-flash"]


@pytest.mark.parametrize(
    ("public", "upstream", "family", "request_type"),
    [
        ("gemini-2.5-flash", "gemini-2.5-flash", "gemini-flash", "agent"),
        ("gemini-2.5-flash-thinking", "gemini-2.5-flash", "gemini-flash", "agent"),
        ("gemini-2.5-flash-lite", "gemini-2.5-flash-lite", "gemini-flash", "agent"),
        ("gemini-2.5-pro", "gemini-2.5-pro", "gemini-pro", "agent"),
        ("gemini-3-pro-low", "gemini-3-pro-low", "gemini-pro", "agent"),
        ("gemini-3-pro-high", "gemini-3-pro-high", "gemini-pro", "agent"),
        ("gemini-3-pro-image", "gemini-3-pro-image", "image", "image_gen"),
        ("gemini-2.5-flash-image", "gemini-2.5-flash-image", "image", "image_gen"),
        ("claude-sonnet-4-5", "claude-sonnet-4-5", "claude", "agent"),
        ("claude-sonnet-4-5-thinking", "claude-sonnet-4-5-thinking", "claude", "agent"),
        ("gpt-oss-120b-medium", "gpt-oss-120b-medium", "gpt-oss", "agent"),
        ("models/gemini-3-pro-preview", "gemini-3-pro-high", "gemini-pro", "agent"),
        ("gemini-3-pro-image-preview", "gemini-3-pro-image", "image", "image_gen"),
        ("claude-opus-4-5", "claude-opus-4-5-thinking", "claude", "agent"),
        ("gemini-3-flash", "gemini-3-flash", "gemini-flash", "agent"),
        ("some-future-model", "some-future-model", "other", "agent"),
    ],
)
def test_resolve(public: str, upstream: str, family: str, request_type: str) -> None:
    spec = resolve_model(public)
    assert (spec.upstream_id, spec.family, spec.request_type) == (upstream, family, request_type)


def test_families_for_quota_grouping() -> None:
    assert model_family("claude-opus-4-6-thinking") == "claude"
    assert model_family("gemini-3.1-flash-image") == "image"
    assert model_family("gemini-pro-agent") == "gemini-pro"
    assert model_family("gemini-3.1-flash-lite") == "gemini-flash"
    assert model_family("gpt-oss-120b-medium") == "gpt-oss"


def test_thinking_variant_gets_its_thinking_config() -> None:
    request = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    merged = apply_model_config(request, resolve_model("gemini-2.5-flash-thinking"))
    assert merged["generationConfig"]["thinkingConfig"] == {"includeThoughts": True, "thinkingBudget": 1024}
    assert "generationConfig" not in request, "the caller's request must not change"
    assert merged["contents"] is request["contents"], "contents are shared, not copied"


def test_caller_thinking_settings_win() -> None:
    request = {
        "contents": [],
        "generationConfig": {
            "temperature": 0.2,
            "thinkingConfig": {"includeThoughts": False, "thinkingBudget": 0},
        },
    }
    merged = apply_model_config(request, resolve_model("gemini-2.5-flash-thinking"))
    assert merged["generationConfig"] == {
        "temperature": 0.2,
        "thinkingConfig": {"includeThoughts": False, "thinkingBudget": 0},
    }


def test_snake_case_thinking_config_is_merged_into_one_spelling() -> None:
    request = {"contents": [], "generationConfig": {"thinking_config": {"thinking_budget": 2048}}}
    merged = apply_model_config(request, resolve_model("gemini-2.5-flash-thinking"))
    assert merged["generationConfig"] == {"thinkingConfig": {"includeThoughts": True, "thinkingBudget": 2048}}


def test_default_budget_is_fitted_under_max_output_tokens() -> None:
    request = {"contents": [], "generationConfig": {"maxOutputTokens": 512}}
    merged = apply_model_config(request, resolve_model("gemini-2.5-flash-thinking"))
    assert merged["generationConfig"]["thinkingConfig"]["thinkingBudget"] == 511


def test_claude_thinking_is_dropped_when_no_budget_fits() -> None:
    request = {"contents": [], "generationConfig": {"maxOutputTokens": 800}}
    merged = apply_model_config(request, resolve_model("claude-sonnet-4-5-thinking"))
    assert "thinkingConfig" not in merged["generationConfig"]
    roomy = apply_model_config(
        {"contents": [], "generationConfig": {"maxOutputTokens": 4000}},
        resolve_model("claude-sonnet-4-5-thinking"),
    )
    assert roomy["generationConfig"]["thinkingConfig"] == {"includeThoughts": True, "thinkingBudget": 3999}


def test_models_without_thinking_config_are_untouched() -> None:
    request = {"contents": [], "generationConfig": {"responseModalities": ["TEXT", "IMAGE"]}}
    merged = apply_model_config(request, resolve_model("gemini-3-pro-image"))
    assert merged == request


def test_unknown_thinking_models_keep_thinking_on() -> None:
    assert resolve_model("claude-opus-4-5").thinking == {"includeThoughts": True, "thinkingBudget": 8192}
    assert resolve_model("gemini-3-flash").thinking == {"includeThoughts": True}
    assert resolve_model("claude-sonnet-4-6").thinking is None
    assert resolve_model("gemini-3.1-flash-image").thinking is None
    assert resolve_model("some-future-model").thinking is None
