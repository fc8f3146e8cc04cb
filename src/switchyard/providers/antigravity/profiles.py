"""Translator profiles for Antigravity models: what `translate/` must know about each public id.

The translators never look a model up by name (translate/profile.py); the provider, which knows the
upstream, describes each model it serves. Values follow protocols §6.2 and §9: budget ranges from
the CPA registry (Gemini 2.5: 0..24576, 2.5 Pro cannot switch thinking off; Claude 1024..200000),
output caps from the CPA registries (Gemini 65535, Claude 64000, gpt-oss 32768, image models 32768).
Models the table does not know get a profile from their naming scheme, like `models.passthrough_spec`.
"""

from __future__ import annotations

from switchyard.translate.profile import ModelProfile, ThinkingLevel

from .models import ModelSpec, resolve_model

GEMINI_25_BUDGET = (0, 24576)
GEMINI_25_PRO_BUDGET = (128, 32768)
CLAUDE_BUDGET = (1024, 200000)
GEMINI_OUTPUT = 65535
CLAUDE_OUTPUT = 64000
GPT_OSS_OUTPUT = 32768
IMAGE_OUTPUT = 32768
GEMINI_3_FLASH_LEVELS: tuple[ThinkingLevel, ...] = ("minimal", "low", "medium", "high")


def model_profile(model: str) -> ModelProfile:
    """The translator profile for a public model id (aliases and unknown ids included)."""
    spec = resolve_model(model)
    default_budget = spec.thinking.get("thinkingBudget") if spec.thinking else None
    profile_id = spec.public_id
    if spec.family == "image":
        return ModelProfile(profile_id, "image", image_output=True, max_output_tokens=IMAGE_OUTPUT)
    if spec.family == "claude":
        thinks = "thinking" in spec.upstream_id
        return ModelProfile(
            profile_id,
            "claude",
            thinking=thinks,
            thinking_budget=CLAUDE_BUDGET if thinks else None,
            default_thinking_budget=default_budget if thinks else None,
            max_output_tokens=CLAUDE_OUTPUT,
        )
    if spec.family == "gpt-oss":
        return ModelProfile(profile_id, "gpt-oss", thinking=True, max_output_tokens=GPT_OSS_OUTPUT)
    if spec.upstream_id.startswith("gemini-3"):
        return _gemini_3(spec)
    return _gemini_25(spec, default_budget)


def _gemini_3(spec: ModelSpec) -> ModelProfile:
    """Gemini 3 thinks by level; Pro's depth is fixed by the id, Flash takes any of four levels."""
    levels = GEMINI_3_FLASH_LEVELS if "flash" in spec.upstream_id else ()
    return ModelProfile(
        spec.public_id, "gemini-3", thinking=True, thinking_levels=levels, max_output_tokens=GEMINI_OUTPUT
    )


def _gemini_25(spec: ModelSpec, default_budget: object) -> ModelProfile:
    pro = "pro" in spec.upstream_id
    return ModelProfile(
        spec.public_id,
        "gemini-2.5",
        thinking=spec.thinking is not None,
        thinking_budget=GEMINI_25_PRO_BUDGET if pro else GEMINI_25_BUDGET,
        default_thinking_budget=default_budget if isinstance(default_budget, int) else None,
        max_output_tokens=GEMINI_OUTPUT,
    )
