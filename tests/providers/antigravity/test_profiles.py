"""Translator profiles for the Antigravity models (translate/profile.py, protocols §6.2)."""

from __future__ import annotations

from switchyard.providers.antigravity import model_profile, public_model_ids


def test_every_public_model_has_a_profile_under_its_own_id() -> None:
    for model in public_model_ids(["gemini-3-flash", "claude-opus-4-5-thinking"]):
        assert model_profile(model).id == model


def test_image_models_never_think() -> None:
    for model in ("gemini-3-pro-image", "gemini-2.5-flash-image"):
        profile = model_profile(model)
        assert profile.image_output and profile.family == "image"
        assert not profile.can_think


def test_thinking_variants() -> None:
    flash = model_profile("gemini-2.5-flash")
    thinking = model_profile("gemini-2.5-flash-thinking")
    assert not flash.thinking and flash.thinking_budget == (0, 24576)
    assert thinking.thinking and thinking.default_thinking_budget == 1024
    assert model_profile("gemini-2.5-pro").thinking_budget == (128, 32768), "2.5 Pro cannot stop thinking"


def test_claude() -> None:
    plain = model_profile("claude-sonnet-4-5")
    thinking = model_profile("claude-sonnet-4-5-thinking")
    assert plain.is_claude and not plain.can_think
    assert thinking.thinking and thinking.thinking_budget == (1024, 200000)
    assert thinking.default_thinking_budget == 8192
    assert thinking.max_output_tokens == 64000
    assert model_profile("claude-opus-4-5-thinking").default_thinking_budget == 8192


def test_gemini_3_levels() -> None:
    assert model_profile("gemini-3-pro-high").thinking_levels == (), "the id fixes the depth"
    assert model_profile("gemini-3-flash").thinking_levels == ("minimal", "low", "medium", "high")
    assert model_profile("gemini-3-pro-low").family == "gemini-3"


def test_gpt_oss() -> None:
    profile = model_profile("gpt-oss-120b-medium")
    assert profile.family == "gpt-oss" and profile.max_output_tokens == 32768
