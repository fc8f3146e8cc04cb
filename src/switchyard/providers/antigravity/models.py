"""The public Antigravity model catalogue: public id → upstream id, thinking config, request type.

Clients name models as api-contract.md lists them; the upstream (`v1internal`) knows them by its own
ids (protocols §6.1) and expects thinking to be asked for in `generationConfig.thinkingConfig`
(§6.2). This table is the one place that knowledge lives. Models the upstream reports through
`fetchAvailableModels` that the table does not know are passed through under their own id, so new
upstream models appear without a release; internal ids (`chat_*`, `tab_*`) stay hidden.

Families group models that share an upstream quota (OAA groups quotas by claude / gemini-pro /
gemini-flash); the pool cools accounts down per family.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Family = Literal["claude", "gemini-pro", "gemini-flash", "image", "gpt-oss", "other"]
RequestType = Literal["agent", "image_gen"]

CLAUDE_MIN_THINKING_BUDGET = 1024
"""Claude refuses thinking budgets below this; a smaller fitted budget drops thinking (§6.2)."""

CLAUDE_DEFAULT_THINKING_BUDGET = 8192
"""Budget for Claude thinking models when the caller sets none (OAA's middle tier)."""

HIDDEN_PREFIXES = ("chat_", "tab_")


@dataclass(frozen=True)
class ModelSpec:
    """How one public model id is called upstream."""

    public_id: str
    upstream_id: str
    family: Family
    display_name: str
    request_type: RequestType = "agent"
    thinking: Mapping[str, Any] | None = None
    """Merged into `generationConfig.thinkingConfig` unless the caller set the same keys."""
    aliases: tuple[str, ...] = field(default=())


def _thinking(budget: int | None = None) -> dict[str, Any]:
    config: dict[str, Any] = {"includeThoughts": True}
    if budget is not None:
        config["thinkingBudget"] = budget
    return config


CATALOGUE: tuple[ModelSpec, ...] = (
    ModelSpec("gemini-2.5-flash", "gemini-2.5-flash", "gemini-flash", "Gemini 2.5 Flash"),
    ModelSpec(
        "gemini-2.5-flash-image",
        "gemini-2.5-flash-image",
        "image",
        "Gemini 2.5 Flash Image (Nano Banana)",
        request_type="image_gen",
        aliases=("gemini-2.5-flash-image-preview",),
    ),
    ModelSpec("gemini-2.5-flash-lite", "gemini-2.5-flash-lite", "gemini-flash", "Gemini 2.5 Flash Lite"),
    # A2A and GCA-D serve the thinking variant as gemini-2.5-flash with a fixed budget (§6.2).
    ModelSpec(
        "gemini-2.5-flash-thinking",
        "gemini-2.5-flash",
        "gemini-flash",
        "Gemini 2.5 Flash (Thinking)",
        thinking=_thinking(1024),
    ),
    ModelSpec("gemini-2.5-pro", "gemini-2.5-pro", "gemini-pro", "Gemini 2.5 Pro", thinking=_thinking()),
    ModelSpec(
        "gemini-3-pro-image",
        "gemini-3-pro-image",
        "image",
        "Gemini 3 Pro Image (Nano Banana Pro)",
        request_type="image_gen",
        aliases=("gemini-3-pro-image-preview",),
    ),
    # Gemini 3 depth is chosen by the model id; a thinkingLevel is not sent (§6.2 conflict note).
    ModelSpec(
        "gemini-3-pro-low",
        "gemini-3-pro-low",
        "gemini-pro",
        "Gemini 3 Pro (Low)",
        thinking=_thinking(),
        aliases=("gemini-3-pro",),
    ),
    ModelSpec(
        "gemini-3-pro-high",
        "gemini-3-pro-high",
        "gemini-pro",
        "Gemini 3 Pro (High)",
        thinking=_thinking(),
        aliases=("gemini-3-pro-preview",),
    ),
    ModelSpec("claude-sonnet-4-5", "claude-sonnet-4-5", "claude", "Claude Sonnet 4.5"),
    ModelSpec(
        "claude-sonnet-4-5-thinking",
        "claude-sonnet-4-5-thinking",
        "claude",
        "Claude Sonnet 4.5 (Thinking)",
        thinking=_thinking(CLAUDE_DEFAULT_THINKING_BUDGET),
    ),
    ModelSpec("gpt-oss-120b-medium", "gpt-oss-120b-medium", "gpt-oss", "GPT-OSS 120B (Medium)"),
)
"""Exactly the models api-contract.md promises, in its order."""

_BY_ID: dict[str, ModelSpec] = {spec.public_id: spec for spec in CATALOGUE}
_BY_ALIAS: dict[str, ModelSpec] = {alias: spec for spec in CATALOGUE for alias in spec.aliases}
_ALIASES_ONLY_UPSTREAM: dict[str, str] = {
    "claude-opus-4-5": "claude-opus-4-5-thinking",
    "gemini-3-flash-preview": "gemini-3-flash",
}


def is_hidden(upstream_id: str) -> bool:
    """Internal upstream ids (IDE tab completion, chat helpers) that clients must not see."""
    return upstream_id.startswith(HIDDEN_PREFIXES) or upstream_id.startswith("MODEL_PLACEHOLDER")


def model_family(upstream_id: str) -> Family:
    """The quota family of an upstream id, by its naming scheme."""
    name = upstream_id.lower()
    if name.startswith("claude"):
        return "claude"
    if name.startswith("gpt-oss"):
        return "gpt-oss"
    if "image" in name:
        return "image"
    if name.startswith("gemini") and "flash" in name:
        return "gemini-flash"
    if name.startswith("gemini") and "pro" in name:
        return "gemini-pro"
    return "other"


def passthrough_spec(upstream_id: str, display_name: str | None = None) -> ModelSpec:
    """A spec for an upstream model the table does not know: same id, config by naming scheme.

    Thinking variants keep thinking on (a `*-thinking` Claude, any Gemini 3 text model), as their
    tabled siblings do; everything else is sent as the caller wrote it.
    """
    family = model_family(upstream_id)
    name = upstream_id.lower()
    request_type: RequestType = "image_gen" if "image" in name else "agent"
    thinking: dict[str, Any] | None = None
    if family == "claude" and "thinking" in name:
        thinking = _thinking(CLAUDE_DEFAULT_THINKING_BUDGET)
    elif name.startswith("gemini-3") and family != "image":
        thinking = _thinking()
    return ModelSpec(
        upstream_id,
        upstream_id,
        family,
        display_name or upstream_id,
        request_type=request_type,
        thinking=thinking,
    )


def resolve_model(model: str) -> ModelSpec:
    """The spec for a public id (or a known alias); unknown ids pass through to the upstream as-is.

    A `models/` prefix (the Gemini-native form) is accepted. Whether an unknown id is allowed is the
    surface's decision (it knows the merged list); the upstream answers 404 for ids it lacks.
    """
    name = model.removeprefix("models/")
    spec = _BY_ID.get(name) or _BY_ALIAS.get(name)
    if spec is not None:
        return spec
    return passthrough_spec(_ALIASES_ONLY_UPSTREAM.get(name, name))


def public_models(available: Mapping[str, Any] | Iterable[str] | None = None) -> list[ModelSpec]:
    """The public list: the contract's models, then extra models an account reported, sorted.

    `available` is the `models` map of a `fetchAvailableModels` reply (or just its keys). Upstream
    ids already served under a public id, and internal ids, are not listed twice.
    """
    specs = list(CATALOGUE)
    if not available:
        return specs
    covered = set(_BY_ID) | set(_BY_ALIAS) | {spec.upstream_id for spec in CATALOGUE}
    details = available if isinstance(available, Mapping) else {}
    extras = []
    for upstream_id in available:
        if upstream_id in covered or is_hidden(upstream_id):
            continue
        info = details.get(upstream_id)
        display = info.get("displayName") if isinstance(info, Mapping) else None
        extras.append(passthrough_spec(upstream_id, display if isinstance(display, str) else None))
    return specs + sorted(extras, key=lambda spec: spec.public_id)


def public_model_ids(available: Mapping[str, Any] | Iterable[str] | None = None) -> list[str]:
    """The ids of `public_models(available)`."""
    return [spec.public_id for spec in public_models(available)]


_SNAKE_TO_CAMEL = {
    "include_thoughts": "includeThoughts",
    "thinking_budget": "thinkingBudget",
    "thinking_level": "thinkingLevel",
}


def apply_model_config(
    request: Mapping[str, Any], spec: ModelSpec, *, show_thoughts: bool = True
) -> dict[str, Any]:
    """A copy of `request` with the model's thinking config merged in; the caller's keys win.

    `show_thoughts=False` leaves `includeThoughts` to the caller, as the public Gemini API does
    (thought parts only when asked); the OpenAI surface shows them as `reasoning_content`.

    Only `generationConfig` and `thinkingConfig` are copied (never `contents`, which can hold
    megabytes of base64). A default budget that does not fit under the caller's `maxOutputTokens`
    (the upstream refuses `maxOutputTokens <= thinkingBudget`) is lowered to fit, and for Claude
    dropped below its minimum (§6.2, CPA `apply.go`); a budget the caller chose is left alone.
    """
    result = dict(request)
    if spec.thinking is None:
        return result
    generation = dict(result.get("generationConfig") or {})
    caller_thinking = {
        _SNAKE_TO_CAMEL.get(key, key): value
        for key, value in (generation.pop("thinking_config", None) or {}).items()
    }
    caller_thinking.update(generation.get("thinkingConfig") or {})
    defaults = copy.deepcopy(dict(spec.thinking))
    if not show_thoughts:
        defaults.pop("includeThoughts", None)
        if not defaults and not caller_thinking:
            return result
    thinking = {**defaults, **caller_thinking}
    caller_budget = "thinkingBudget" in caller_thinking
    if not caller_budget and not _fit_budget(thinking, generation.get("maxOutputTokens"), spec.family):
        generation.pop("thinkingConfig", None)
    else:
        generation["thinkingConfig"] = thinking
    result["generationConfig"] = generation
    return result


def _fit_budget(thinking: dict[str, Any], max_output: Any, family: Family) -> bool:
    """Lower a default budget under `max_output`; False when thinking must be dropped."""
    budget = thinking.get("thinkingBudget")
    if not isinstance(budget, int) or budget <= 0 or not isinstance(max_output, int):
        return True
    if budget < max_output:
        return True
    thinking["thinkingBudget"] = max_output - 1
    return not (family == "claude" and max_output - 1 < CLAUDE_MIN_THINKING_BUDGET)
