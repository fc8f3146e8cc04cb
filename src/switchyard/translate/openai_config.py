"""OpenAI sampling, output, reasoning and image parameters → Gemini `generationConfig` (§6.2, §9).

Choices made where the sources disagree (protocols/antigravity.md marks them [U]):
- `reasoning_effort` on budget models (2.5, Claude): none 0, minimal 512, low 1024, medium 8192,
  high 24576, xhigh 32768 (CPA-H), clamped to the model's `thinking_budget` range.
- Gemini 3: no budget; `thinkingLevel` only for models whose profile lists levels (the nearest
  one; a tie goes up). Where the model id picks the depth (gemini-3-pro-low/-high) nothing is sent,
  since sources disagree on whether v1internal accepts a level there at all.
- Claude always gets `maxOutputTokens` (the model's cap unless the client set one), and
  `thinkingBudget` must stay below it: we clamp the budget, never raise the client's cap, and drop
  thinking when the budget would fall under Claude's 1024 minimum (§6.2, CPA).
- Image models get `responseModalities` and `imageConfig` and never a thinkingConfig (field-notes 12).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from switchyard.errors import InvalidRequest
from switchyard.translate.fields import get_dict, get_int, get_number, get_str, wrong_type
from switchyard.translate.profile import ModelProfile, ThinkingLevel
from switchyard.translate.schema import clean_schema

EFFORT_BUDGETS = {"none": 0, "minimal": 512, "low": 1024, "medium": 8192, "high": 24576, "xhigh": 32768}
_EFFORT_LEVEL: dict[str, ThinkingLevel] = {
    "none": "minimal",
    "minimal": "minimal",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "xhigh": "high",
}
_LEVEL_RANK: dict[str, int] = {"minimal": 0, "low": 1, "medium": 2, "high": 3}
DEFAULT_CLAUDE_BUDGET = 8192

MAX_STOP_SEQUENCES = 5


def generation_config(body: Mapping[str, Any], *, model: ModelProfile) -> dict[str, Any]:
    """The `generationConfig` for an OpenAI chat body; empty when nothing is set."""
    config: dict[str, Any] = {}
    n = get_int(body, "n", low=1)
    if n is not None and n > 1:
        raise InvalidRequest("n>1 is not supported", param="n")
    for key, upstream, low, high in (
        ("temperature", "temperature", 0, 2),
        ("top_p", "topP", 0, 1),
        ("presence_penalty", "presencePenalty", -2, 2),
        ("frequency_penalty", "frequencyPenalty", -2, 2),
    ):
        value = get_number(body, key, low=low, high=high)
        if value is not None:
            config[upstream] = value
    top_k = get_int(body, "top_k", low=1)
    if top_k is not None:
        config["topK"] = top_k
    seed = get_int(body, "seed")
    if seed is not None:
        config["seed"] = seed
    stop = _stop_sequences(body)
    if stop:
        config["stopSequences"] = stop
    _response_format(body, config)
    max_tokens = _max_output_tokens(body, model=model)
    thinking, max_tokens = _thinking(body, model=model, max_tokens=max_tokens)
    if max_tokens is not None:
        config["maxOutputTokens"] = max_tokens
    if thinking is not None:
        config["thinkingConfig"] = thinking
    if model.image_output:
        config["responseModalities"] = ["TEXT", "IMAGE"]
        config["imageConfig"] = _image_config(body, model)
    return config


def _max_output_tokens(body: Mapping[str, Any], *, model: ModelProfile) -> int | None:
    value = get_int(body, "max_completion_tokens", low=1)
    if value is None:
        value = get_int(body, "max_tokens", low=1)
    if value is None:
        # Claude (Anthropic) requires a cap; proxies that dropped it broke Claude (§9, AIClient2API#283).
        return model.max_output_tokens if model.is_claude else None
    return min(value, model.max_output_tokens)


def _stop_sequences(body: Mapping[str, Any]) -> list[str]:
    stop = body.get("stop")
    if stop is None:
        return []
    if isinstance(stop, str):
        return [stop] if stop else []
    if not isinstance(stop, list) or not all(isinstance(item, str) for item in stop):
        raise wrong_type("stop", "a string or an array of strings", stop)
    if len(stop) > MAX_STOP_SEQUENCES:
        raise InvalidRequest(f"'stop' may hold at most {MAX_STOP_SEQUENCES} sequences", param="stop")
    return [item for item in stop if item]


def _response_format(body: Mapping[str, Any], config: dict[str, Any]) -> None:
    response_format = get_dict(body, "response_format")
    if response_format is None:
        return
    kind = response_format.get("type")
    if kind == "text":
        return
    if kind == "json_object":
        config["responseMimeType"] = "application/json"
        return
    if kind == "json_schema":
        spec = response_format.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if not isinstance(schema, dict):
            raise InvalidRequest(
                "'response_format.json_schema.schema' must be an object",
                param="response_format.json_schema.schema",
            )
        config["responseMimeType"] = "application/json"
        config["responseSchema"] = clean_schema(schema, target="gemini", for_response=True)
        return
    raise InvalidRequest(
        f"Invalid 'response_format.type' {kind!r}: expected 'text', 'json_object' or 'json_schema'",
        param="response_format.type",
    )


def _effort(body: Mapping[str, Any]) -> str | None:
    effort = get_str(body, "reasoning_effort")
    if effort is None:
        reasoning = body.get("reasoning")  # the OpenRouter-style {"reasoning": {"effort": ...}}
        effort = reasoning.get("effort") if isinstance(reasoning, dict) else None
    if effort is None:
        return None
    if not isinstance(effort, str) or effort.lower() not in EFFORT_BUDGETS:
        raise InvalidRequest(
            f"Invalid 'reasoning_effort' {effort!r}: expected one of {', '.join(EFFORT_BUDGETS)}",
            param="reasoning_effort",
        )
    return effort.lower()


def _thinking(
    body: Mapping[str, Any], *, model: ModelProfile, max_tokens: int | None
) -> tuple[dict[str, Any] | None, int | None]:
    """(thinkingConfig or None, maxOutputTokens possibly adjusted)."""
    effort = _effort(body)
    if not model.can_think:
        return None, max_tokens
    if model.family == "gemini-3" and (model.thinking_levels or model.thinking_budget is None):
        # Gemini 3 thinks by level, or at a depth its id fixes; those with a budget range take budgets.
        config: dict[str, Any] = {"includeThoughts": True}
        if effort is not None and model.thinking_levels:
            config["thinkingLevel"] = _nearest_level(_EFFORT_LEVEL[effort], model.thinking_levels)
        return config, max_tokens
    if model.thinking_budget is None:
        return ({"includeThoughts": True} if model.thinking else None), max_tokens
    low, high = model.thinking_budget
    if effort is None:
        if not model.thinking:
            return None, max_tokens
        budget = model.default_thinking_budget
        if budget is None and model.is_claude:
            budget = DEFAULT_CLAUDE_BUDGET
    else:
        budget = min(max(EFFORT_BUDGETS[effort], low), high)
    if budget == 0:
        return {"includeThoughts": False, "thinkingBudget": 0}, max_tokens
    config = {"includeThoughts": True}
    if budget is None or budget < 0:
        if budget is not None:
            config["thinkingBudget"] = budget
        return config, max_tokens
    if max_tokens is not None and budget >= max_tokens:
        budget = max_tokens - 1
        if budget < max(low, 1):
            if model.is_claude or low > 0:
                # Thinking cannot fit under the client's cap (Claude's minimum is 1024): answer without it.
                return (None if model.is_claude else {"includeThoughts": False}), max_tokens
            return {"includeThoughts": False, "thinkingBudget": 0}, max_tokens
    config["thinkingBudget"] = budget
    return config, max_tokens


def _nearest_level(wanted: ThinkingLevel, allowed: tuple[ThinkingLevel, ...]) -> ThinkingLevel:
    if wanted in allowed:
        return wanted
    rank = _LEVEL_RANK[wanted]
    return min(allowed, key=lambda level: (abs(_LEVEL_RANK[level] - rank), -_LEVEL_RANK[level]))


# -- image models -------------------------------------------------------------------------------


def _image_options(body: Mapping[str, Any]) -> tuple[Any, Any]:
    """(aspect_ratio, image_size) from the top level or OpenRouter's `image_config`."""
    nested = body.get("image_config")
    nested = nested if isinstance(nested, dict) else {}
    return body.get("aspect_ratio", nested.get("aspect_ratio")), body.get(
        "image_size", nested.get("image_size")
    )


def parse_aspect_ratio(value: Any) -> tuple[float, float]:
    """`"W:H"` (positive numbers; `x` accepted too) → (W, H)."""
    if not isinstance(value, str):
        raise wrong_type("aspect_ratio", "a string like '16:9'", value)
    left, sep, right = value.strip().replace("x", ":").partition(":")
    try:
        width, height = float(left), float(right)
    except ValueError:
        width = height = -1.0
    if not sep or not (0 < width < math.inf and 0 < height < math.inf) or not 0.01 < width / height < 100:
        raise InvalidRequest(
            f"Invalid 'aspect_ratio' {value!r}: expected 'W:H', e.g. '16:9'", param="aspect_ratio"
        )
    return width, height


def nearest_aspect_ratio(width: float, height: float, supported: tuple[str, ...]) -> str:
    """The supported ratio closest on a log scale (so 2:1 and 1:2 are equally far from 1:1)."""
    wanted = math.log(width / height)

    def distance(ratio: str) -> float:
        w, h = ratio.split(":")
        return abs(math.log(int(w) / int(h)) - wanted)

    return min(supported, key=distance)


def _image_config(body: Mapping[str, Any], model: ModelProfile) -> dict[str, str]:
    aspect_ratio, image_size = _image_options(body)
    ratio = (
        "1:1"
        if aspect_ratio is None
        else nearest_aspect_ratio(*parse_aspect_ratio(aspect_ratio), model.aspect_ratios)
    )
    if image_size is None:
        size = "1K"
    elif isinstance(image_size, str) and image_size.upper() in model.image_sizes:
        size = image_size.upper()
    else:
        raise InvalidRequest(
            f"Invalid 'image_size' {image_size!r}: expected {', '.join(model.image_sizes)}",
            param="image_size",
        )
    return {"aspectRatio": ratio, "imageSize": size}


def image_crop_ratio(body: Mapping[str, Any], *, model: ModelProfile) -> tuple[float, float] | None:
    """The exact (W, H) the client asked for when the upstream can only approximate it, else None.

    The surface center-crops generated images to this ratio (api-contract: "any ratio").
    """
    aspect_ratio, _ = _image_options(body)
    if not model.image_output or aspect_ratio is None:
        return None
    width, height = parse_aspect_ratio(aspect_ratio)
    w, h = nearest_aspect_ratio(width, height, model.aspect_ratios).split(":")
    return None if math.isclose(width / height, int(w) / int(h), rel_tol=1e-9) else (width, height)
