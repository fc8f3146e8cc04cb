"""Today's Cloud Code model table (protocols/antigravity.md §12.1, §12.2, §12.4), as data.

One `ModelFacts` row per key of `fetchAvailableModels.models` in the September 2026 stored reply.
Everything the emulator does per model — which quota pool it bills, how it thinks, which signatures
it issues and checks, which fields it refuses, which client version it needs — is read from its row,
never from the shape of its id. Retired ids (§12.1.1) and the reply's top-level lists live in
`cloudcode_lineup.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from switchyard.emulators.cloudcode_signatures import SignatureFamily


class Provider(Enum):
    """`(apiProvider, modelProvider)` as the reply names them."""

    GOOGLE = ("API_PROVIDER_GOOGLE_GEMINI", "MODEL_PROVIDER_GOOGLE")
    ANTHROPIC = ("API_PROVIDER_ANTHROPIC_VERTEX", "MODEL_PROVIDER_ANTHROPIC")
    OPENAI = ("API_PROVIDER_OPENAI_VERTEX", "MODEL_PROVIDER_OPENAI")
    INTERNAL = ("API_PROVIDER_INTERNAL", "MODEL_PROVIDER_GOOGLE")


class Pool(Enum):
    """The two quota pools of §12.1: every Gemini id shares one, Claude and gpt-oss ("3p") the other."""

    GEMINI = "gemini"
    THIRD_PARTY = "3p"


class Thinking(Enum):
    """How a model thinks (§12.4)."""

    OPTIONAL = "optional"
    """Thinks only when asked (a non-zero budget or a level); the reply has no `supportsThinking`."""
    DEFAULT_ON = "default_on"
    """Thinks unless the budget is 0."""
    ALWAYS = "always"
    """Thinking-only: budget 0 is a 400 "Budget 0 is invalid. This model only works in thinking mode."."""
    TIERED = "tiered"
    """A `-tiered` id: `thinkingLevel` low/medium/high picks the tier."""
    EXPLICIT = "explicit"
    """Claude: thinks when `thinkingConfig` asks for it, within `budget_range`."""


FLASH_LEVELS = ("minimal", "low", "medium", "high")
TIER_LEVELS = ("low", "medium", "high")
LITE_LEVELS = ("none", "minimal", "low", "medium", "high")
IMAGE_LEVELS = ("minimal", "high")
GEMINI_MIME_TYPES = (
    "application/pdf", "audio/mpeg", "audio/wav", "image/heic", "image/heif", "image/jpeg", "image/png",
    "image/webp", "text/plain", "video/mp4", "video/webm",
)  # fmt: skip
CLAUDE_MIME_TYPES = ("application/pdf", "image/gif", "image/jpeg", "image/png", "image/webp")
CAPACITY_RETRY_EXPERIMENT = "retry_model_capacity_exhausted"


@dataclass(frozen=True)
class ModelFacts:
    """One catalogue entry and the behaviour that goes with it."""

    id: str
    enum: str
    provider: Provider
    display_name: str | None
    pool: Pool | None
    thinking: Thinking
    thinking_budget: int | None = None
    min_thinking_budget: int | None = None
    budget_range: tuple[int, int] | None = None
    thinking_levels: tuple[str, ...] | None = None
    """Accepted `thinkingLevel` values; None means the emulator does not check them ([U] in the notes)."""
    max_tokens: int | None = None
    max_output_tokens: int | None = None
    supports_images: bool = False
    supports_video: bool = False
    recommended: bool = False
    tag_title: str | None = None
    mime_types: tuple[str, ...] = ()
    vertex_model_id: str | None = None
    experiments: tuple[str, ...] = ()
    internal: bool = False
    image_output: bool = False
    signatures: SignatureFamily | None = None
    """The family of thought signatures it issues (and, for Claude, the only one it accepts)."""
    checks_call_signatures: bool = False
    """Gemini 3: a replayed functionCall needs a thoughtSignature, and text answers are signed."""
    penalties: bool = False
    """Whether `presencePenalty`/`frequencyPenalty` are accepted (gpt-oss yes, Gemini no; §12.5)."""
    serves_as: str | None = None
    """A legacy key answered by another model (its `modelVersion`)."""
    min_version: str | None = None
    """The IDE client version the id needs (§12.3); below it the id is hidden and answers 404."""

    @property
    def anthropic(self) -> bool:
        return self.provider is Provider.ANTHROPIC

    @property
    def supports_thinking(self) -> bool:
        return self.thinking is not Thinking.OPTIONAL

    def entry(self) -> dict[str, Any]:
        """The reply's entry for this id, without `quotaInfo` (which is per account)."""
        api_provider, model_provider = self.provider.value
        entry: dict[str, Any] = {}
        if self.display_name is not None:
            entry["displayName"] = self.display_name
        entry.update({"model": self.enum, "apiProvider": api_provider, "modelProvider": model_provider})
        optional: dict[str, Any] = {
            "maxTokens": self.max_tokens,
            "maxOutputTokens": self.max_output_tokens,
            "supportsThinking": True if self.supports_thinking and not self.internal else None,
            "thinkingBudget": self.thinking_budget,
            "minThinkingBudget": self.min_thinking_budget,
            "supportsImages": self.supports_images or None,
            "supportsVideo": self.supports_video or None,
            "recommended": self.recommended or None,
            "tagTitle": self.tag_title,
            "vertexModelId": self.vertex_model_id,
            "isInternal": self.internal or None,
        }
        entry.update({key: value for key, value in optional.items() if value is not None})
        if self.mime_types:
            entry["supportedMimeTypes"] = dict.fromkeys(self.mime_types, True)
        if self.experiments:
            entry["modelExperiments"] = {
                "experiments": {name: {"boolValue": True} for name in self.experiments}
            }
        return entry


def _gemini(model_id: str, enum: str, display: str | None, thinking: Thinking, **facts: Any) -> ModelFacts:
    """A Gemini 3 text model: 1M context, multimodal input, Gemini signatures, no penalties."""
    defaults: dict[str, Any] = {
        "max_tokens": 1048576,
        "max_output_tokens": 65536,
        "supports_images": True,
        "supports_video": True,
        "mime_types": GEMINI_MIME_TYPES,
        "signatures": SignatureFamily.GEMINI,
        "checks_call_signatures": True,
    }
    return ModelFacts(
        model_id, enum, Provider.GOOGLE, display, Pool.GEMINI, thinking, **{**defaults, **facts}
    )


ENUM_OFFSETS = {"medium": 0, "tiered": 1, "high": 2, "low": 3}
"""Enum numbers within a Flash family, as in §12.2's example (3.8 Medium = M400, 3.8 tiered = M401)."""


def _flash_family(version: str, first_enum: int, min_version: str | None) -> list[ModelFacts]:
    """`gemini-<v>-flash-high/-medium/-low` and `-tiered` (§12.1, §12.4): the suffix picks the tier."""
    rows = [
        _gemini(
            f"gemini-{version}-flash-{tier}",
            f"MODEL_PLACEHOLDER_M{first_enum + ENUM_OFFSETS[tier]}",
            f"Gemini {version} Flash ({tier.capitalize()})",
            Thinking.DEFAULT_ON,
            thinking_budget=budget,
            min_thinking_budget=32,
            thinking_levels=FLASH_LEVELS,
            recommended=True,
            tag_title="Fast" if tier == "medium" else None,
            min_version=min_version,
        )
        for tier, budget in (("high", -1), ("medium", 4000), ("low", 1000))
    ]
    rows.append(
        _gemini(
            f"gemini-{version}-flash-tiered",
            f"MODEL_PLACEHOLDER_M{first_enum + ENUM_OFFSETS['tiered']}",
            None,
            Thinking.TIERED,
            thinking_budget=-1,
            min_thinking_budget=32,
            thinking_levels=TIER_LEVELS,
            min_version=min_version,
        )
    )
    return rows


def _claude(model_id: str, enum: str, display: str, vertex: str) -> ModelFacts:
    return ModelFacts(
        model_id,
        enum,
        Provider.ANTHROPIC,
        display,
        Pool.THIRD_PARTY,
        Thinking.EXPLICIT,
        thinking_budget=1024,
        budget_range=(1024, 64000),
        max_tokens=250000,
        max_output_tokens=64000,
        supports_images=True,
        recommended=True,
        mime_types=CLAUDE_MIME_TYPES,
        vertex_model_id=vertex,
        experiments=(CAPACITY_RETRY_EXPERIMENT,),
        signatures=SignatureFamily.CLAUDE,
        penalties=True,
    )


def _legacy(model_id: str, enum: str, display: str, serves_as: str, thinking: Thinking) -> ModelFacts:
    """Gemini 2.5 keys still listed as aliases of the current Flash-Lite (§12.1); lenient on signatures."""
    return _gemini(
        model_id,
        enum,
        display,
        thinking,
        thinking_budget=1024 if thinking is Thinking.DEFAULT_ON else -1,
        min_thinking_budget=128 if thinking is Thinking.DEFAULT_ON else None,
        checks_call_signatures=False,
        serves_as=serves_as,
        experiments=(CAPACITY_RETRY_EXPERIMENT,) if model_id == "gemini-2.5-flash" else (),
    )


def _internal(model_id: str, enum: str) -> ModelFacts:
    return ModelFacts(
        model_id,
        enum,
        Provider.INTERNAL,
        None,
        None,
        Thinking.OPTIONAL,
        internal=True,
        signatures=SignatureFamily.GEMINI,
    )


MODEL_ROWS: list[ModelFacts] = [
    *_flash_family("3.8", 400, "2.11.0"),
    *_flash_family("3.7", 380, "2.9.0"),
    *_flash_family("3.6", 360, None),
    _gemini(
        "gemini-3-flash", "MODEL_PLACEHOLDER_M18", "Gemini 3 Flash", Thinking.DEFAULT_ON,
        thinking_budget=-1, min_thinking_budget=128, thinking_levels=FLASH_LEVELS,
    ),
    _gemini(
        "gemini-pro-agent", "MODEL_PLACEHOLDER_M16", "Gemini 3.1 Pro (High)", Thinking.ALWAYS,
        thinking_budget=10001, min_thinking_budget=128, recommended=True,
    ),
    _gemini(
        "gemini-3.1-pro-low", "MODEL_PLACEHOLDER_M36", "Gemini 3.1 Pro (Low)", Thinking.ALWAYS,
        thinking_budget=1001, min_thinking_budget=128, recommended=True,
    ),
    _gemini(
        "gemini-3.1-pro-high", "MODEL_PLACEHOLDER_M37", "Gemini 3.1 Pro (High)", Thinking.ALWAYS,
        thinking_budget=10001, min_thinking_budget=128, tag_title="New",
    ),
    _gemini(
        "gemini-3.1-flash-lite", "MODEL_PLACEHOLDER_M50", "Gemini 3.1 Flash Lite", Thinking.OPTIONAL,
        thinking_levels=LITE_LEVELS, tag_title="Fast",
    ),
    _gemini(
        "gemini-3.5-flash-lite", "MODEL_PLACEHOLDER_M52", "Gemini 3.5 Flash Lite", Thinking.ALWAYS,
        thinking_budget=-1, min_thinking_budget=32,
    ),
    _gemini(
        "gemini-3.1-flash-image", "MODEL_PLACEHOLDER_M51", "Gemini 3.1 Flash Image", Thinking.DEFAULT_ON,
        thinking_levels=IMAGE_LEVELS, max_tokens=131072, max_output_tokens=32768, supports_video=False,
        mime_types=("image/jpeg", "image/png", "image/webp"), image_output=True, checks_call_signatures=False,
    ),
    _claude("claude-sonnet-4-6", "MODEL_PLACEHOLDER_M35", "Claude Sonnet 4.6 (Thinking)", "claude-sonnet-4-6@default"),
    _claude(
        "claude-opus-4-6-thinking", "MODEL_PLACEHOLDER_M26", "Claude Opus 4.6 (Thinking)",
        "claude-opus-4-6@default",
    ),
    ModelFacts(
        "gpt-oss-120b-medium", "MODEL_OPENAI_GPT_OSS_120B_MEDIUM", Provider.OPENAI, "GPT-OSS 120B (Medium)",
        Pool.THIRD_PARTY, Thinking.ALWAYS, thinking_budget=8192, max_tokens=131072, max_output_tokens=32768,
        vertex_model_id="gpt-oss-120b-maas", penalties=True,
    ),
    _gemini(
        "gemini-2.5-pro", "MODEL_GOOGLE_GEMINI_2_5_PRO", "Gemini 2.5 Pro", Thinking.DEFAULT_ON,
        thinking_budget=1024, min_thinking_budget=128, checks_call_signatures=False,
    ),
    _legacy(
        "gemini-2.5-flash", "MODEL_GOOGLE_GEMINI_2_5_FLASH", "Gemini 3.5 Flash Lite",
        "gemini-3.5-flash-lite", Thinking.ALWAYS,
    ),
    _legacy(
        "gemini-2.5-flash-lite", "MODEL_GOOGLE_GEMINI_2_5_FLASH_LITE", "Gemini 3.1 Flash Lite",
        "gemini-3.1-flash-lite", Thinking.ALWAYS,
    ),
    _legacy(
        "gemini-2.5-flash-thinking", "MODEL_GOOGLE_GEMINI_2_5_FLASH_THINKING", "Gemini 3.1 Flash Lite",
        "gemini-3.1-flash-lite", Thinking.DEFAULT_ON,
    ),
    _internal("chat_20706", "MODEL_CHAT_20706"),
    _internal("chat_23310", "MODEL_CHAT_23310"),
    _internal("tab_flash_lite_preview", "MODEL_TAB_FLASH_LITE_PREVIEW"),
    _internal("tab_jump_flash_lite_preview", "MODEL_TAB_JUMP_FLASH_LITE_PREVIEW"),
]  # fmt: skip

MODELS: dict[str, ModelFacts] = {row.id: row for row in MODEL_ROWS}


def facts_of(model: str) -> ModelFacts | None:
    return MODELS.get(model)


def thinking_active(facts: ModelFacts, thinking_config: dict[str, Any]) -> bool:
    """Whether a request makes the model think (and so bill thoughts, show them, sign them)."""
    budget = thinking_config.get("thinkingBudget", thinking_config.get("thinking_budget"))
    level = thinking_config.get("thinkingLevel", thinking_config.get("thinking_level"))
    include = thinking_config.get("includeThoughts", thinking_config.get("include_thoughts"))
    if facts.thinking in (Thinking.ALWAYS, Thinking.TIERED):
        return True
    if facts.thinking is Thinking.DEFAULT_ON:
        return budget != 0
    if facts.thinking is Thinking.EXPLICIT:
        return budget != 0 and (bool(include) or budget is not None or level is not None)
    return budget not in (None, 0) or (level is not None and str(level).lower() != "none")


def effective_budget(facts: ModelFacts, thinking_config: dict[str, Any]) -> int | None:
    budget = thinking_config.get("thinkingBudget", thinking_config.get("thinking_budget"))
    return budget if isinstance(budget, int) else facts.thinking_budget
