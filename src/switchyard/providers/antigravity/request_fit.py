"""Fit a canonical request to the model that serves it, as today's upstream accepts it (§12.4, §12.5).

The surfaces translate what the client asked; this is the last step before the envelope, and the
only one that knows the upstream model's rules (from its metadata, never its id):
- thinking: the model's default when the client set none; a budget only where budgets are taken,
  clamped to the model's range (never a 0 the model refuses), a level only where levels are; a
  Claude budget kept below `maxOutputTokens`, and Claude's `topP` floor while it thinks;
- `generationConfig` fields the upstream refuses for the model (penalties on Gemini) dropped;
- image generation in the shape the anchors send: `candidateCount` 1 and `imageConfig`, without
  system instruction or tools.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .catalogue import ModelSpec

_SNAKE_TO_CAMEL = {
    "include_thoughts": "includeThoughts",
    "thinking_budget": "thinkingBudget",
    "thinking_level": "thinkingLevel",
}
LEVEL_BUDGETS = {"minimal": 512, "low": 1024, "medium": 8192, "high": 24576}
"""A level asked of a budget model becomes this budget (the OpenAI surface's effort budgets)."""
_LEVEL_RANK = {"minimal": 0, "low": 1, "medium": 2, "high": 3}
IMAGE_DROPPED_KEYS = ("systemInstruction", "system_instruction", "tools", "toolConfig", "tool_config")
CLAUDE_MIN_BUDGET = 1024


def fit_request(request: Mapping[str, Any], spec: ModelSpec, *, show_thoughts: bool = True) -> dict[str, Any]:
    """A copy of `request` fitted to `spec`'s upstream model; the caller's dict is left untouched.

    `show_thoughts=False` leaves `includeThoughts` to the caller, as the public Gemini API does
    (thought parts only when asked); the OpenAI surface shows them as `reasoning_content`. Only
    `generationConfig` is copied (never `contents`, which can hold megabytes of base64).
    """
    result = dict(request)
    generation = dict(result.get("generationConfig") or {})
    meta = spec.meta
    if meta.request_type == "image_gen":
        for key in IMAGE_DROPPED_KEYS:
            result.pop(key, None)
        image = generation.get("imageConfig") or generation.get("image_config")
        generation = {"candidateCount": 1}
        if image:
            generation["imageConfig"] = image
        result["generationConfig"] = generation
        return result
    for name in meta.refused_fields:
        generation.pop(name, None)
    cap = generation.get("maxOutputTokens")
    if isinstance(cap, int) and cap > meta.max_output_tokens:
        generation["maxOutputTokens"] = cap = meta.max_output_tokens
    thinking = _thinking(generation, spec, show_thoughts, cap)
    if thinking and meta.family == "claude" and _thinks(thinking) and _tool_turn_lacks_thinking(result):
        thinking = None  # §12.4: GCA-H's recovery when no signed thinking block can lead the turn
    if thinking is None:
        generation.pop("thinkingConfig", None)
    else:
        generation["thinkingConfig"] = thinking
    if thinking and meta.top_p_min_when_thinking is not None and _thinks(thinking):
        top_p = generation.get("topP")
        if isinstance(top_p, (int, float)) and top_p < meta.top_p_min_when_thinking:
            generation["topP"] = meta.top_p_min_when_thinking
    if generation or "generationConfig" in result:
        result["generationConfig"] = generation
    return result


def _tool_turn_lacks_thinking(request: Mapping[str, Any]) -> bool:
    """Whether the last model turn holding a functionCall does not start with a thought part:
    Claude with thinking on refuses such a history (§12.4), and only a real signature may sign one."""
    contents: Any = request.get("contents")
    history: list[Any] = contents if isinstance(contents, list) else []
    for content in reversed(history):
        if not isinstance(content, dict) or content.get("role") != "model":
            continue
        parts: list[Any] = content.get("parts") or []
        if not any(isinstance(p, dict) and ("functionCall" in p or "function_call" in p) for p in parts):
            continue
        first = parts[0] if parts else None
        return not (
            isinstance(first, dict) and first.get("thought") is True and first.get("thoughtSignature")
        )
    return False


def _thinking(
    generation: dict[str, Any], spec: ModelSpec, show_thoughts: bool, cap: Any
) -> dict[str, Any] | None:
    caller = {
        _SNAKE_TO_CAMEL.get(key, key): value
        for key, value in (generation.pop("thinking_config", None) or {}).items()
    }
    caller.update(generation.get("thinkingConfig") or {})
    meta = spec.meta
    defaults: dict[str, Any] = {}
    if spec.thinking and not caller:
        if show_thoughts:
            defaults["includeThoughts"] = True
        if spec.default_thinking_budget is not None and meta.thinking_budget is not None:
            defaults["thinkingBudget"] = spec.default_thinking_budget
    config = {**defaults, **caller}
    if not config:
        return None
    _fit_depth(config, spec)
    if meta.family == "claude" and not _fit_claude_budget(config, cap):
        return None
    return config or None


def _fit_depth(config: dict[str, Any], spec: ModelSpec) -> None:
    """Budget or level, whichever the model takes, within its range."""
    meta = spec.meta
    level, budget = config.get("thinkingLevel"), config.get("thinkingBudget")
    if meta.thinking_levels:
        config.pop("thinkingBudget", None)
        if isinstance(level, str) and level.lower() in _LEVEL_RANK:
            wanted = level.lower()
        elif isinstance(budget, int) and budget >= 0:
            wanted = _level_for_budget(budget)
        else:
            config.pop("thinkingLevel", None)
            return
        config["thinkingLevel"] = _nearest_level(wanted, meta.thinking_levels)
        return
    config.pop("thinkingLevel", None)
    if meta.thinking_budget is None:
        config.pop("thinkingBudget", None)  # the id picks the depth (GCA-H sends none)
        return
    if isinstance(level, str) and budget is None:
        budget = LEVEL_BUDGETS.get(level.lower())
    if not isinstance(budget, int) or budget == -1:
        if budget == -1:
            config["thinkingBudget"] = -1
        return
    low, high = meta.thinking_budget
    if budget == 0 and low > 0:
        config["includeThoughts"] = False  # the model cannot stop thinking: think least, show nothing
    config["thinkingBudget"] = min(max(budget, low), high)


def _fit_claude_budget(config: dict[str, Any], cap: Any) -> bool:
    """Claude needs `maxOutputTokens` above the budget; False when thinking must be dropped."""
    budget = config.get("thinkingBudget")
    if not isinstance(budget, int) or budget <= 0 or not isinstance(cap, int) or budget < cap:
        return True
    config["thinkingBudget"] = cap - 1
    return cap - 1 >= CLAUDE_MIN_BUDGET


def _thinks(config: Mapping[str, Any]) -> bool:
    budget = config.get("thinkingBudget")
    return budget != 0 and (isinstance(budget, int) or bool(config.get("includeThoughts")))


def _level_for_budget(budget: int) -> str:
    if budget <= 512:
        return "minimal"
    if budget <= 1024:
        return "low"
    if budget <= 8192:
        return "medium"
    return "high"


def _nearest_level(wanted: str, allowed: tuple[str, ...]) -> str:
    if wanted in allowed:
        return wanted
    rank = _LEVEL_RANK[wanted]
    return min(allowed, key=lambda level: (abs(_LEVEL_RANK[level] - rank), -_LEVEL_RANK[level]))
