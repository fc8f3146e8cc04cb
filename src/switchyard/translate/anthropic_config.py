"""Anthropic `tools`, `tool_choice`, sampling and `thinking` → Gemini `tools`, `toolConfig`,
`generationConfig` (api-contract.md "Anthropic Messages").

The tool and sampling rules are the OpenAI translator's (`openai_tools`, `openai_config`): an
Anthropic tool is the same function declaration under other key names, so it is restated in
OpenAI's shape and cleaned by the same schema sanitiser, never by a second copy of it.

What Anthropic clients send that we cannot honour is kept out of the upstream request, never an
error (issue 14): `cache_control` anywhere, tools with `defer_loading` and no schema (a tool-search
client loads them later), and server tools (`web_search_…`, `code_execution_…`, `bash_…`) that only
Anthropic runs; those are named in `AnthropicTools.dropped` so the surface can say so in a header.

`thinking`: `enabled` sends `budget_tokens` (clamped to the model's range and below `max_tokens`,
as Claude requires), `disabled` turns thinking off where the model allows it, `adaptive` and an
absent `thinking` leave the model's own default (the catalogue decides, e.g. `-thinking` aliases).
`output_config.effort` (low/medium/high/max) picks the depth where no budget was given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from switchyard.errors import InvalidRequest
from switchyard.translate.fields import get_dict, get_int, get_number, wrong_type
from switchyard.translate.openai_config import generation_config
from switchyard.translate.openai_tools import ToolSet, tool_config_from_openai, tools_from_openai
from switchyard.translate.profile import ModelProfile

EFFORTS = {"low": "low", "medium": "medium", "high": "high", "max": "xhigh"}
"""`output_config.effort` → the OpenAI `reasoning_effort` whose budget/level table we share."""
CLIENT_TOOL_TYPES = frozenset({"custom"})
MAX_STOP_SEQUENCES = 16


@dataclass(slots=True)
class AnthropicTools:
    """The client tools in OpenAI's function shape, and the server tools left out."""

    functions: list[dict[str, Any]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    def openai_body(self) -> dict[str, Any]:
        return {"tools": [{"type": "function", "function": f} for f in self.functions]}


def anthropic_tools(body: Mapping[str, Any]) -> AnthropicTools:
    """Validate `tools`; keep the client tools, note the ones we leave out."""
    tools = body.get("tools")
    found = AnthropicTools()
    if tools is None:
        return found
    if not isinstance(tools, list):
        raise wrong_type("tools", "an array", tools)
    for index, tool in enumerate(tools):
        param = f"tools[{index}]"
        if not isinstance(tool, dict):
            raise wrong_type(param, "an object", tool)
        name = tool.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidRequest(f"'{param}.name' must be a non-empty string", param=f"{param}.name")
        kind = tool.get("type")
        schema = tool.get("input_schema")
        if kind is not None and kind not in CLIENT_TOOL_TYPES:
            found.dropped.append(name)  # a server tool (`web_search_20250305`, …): Anthropic runs it
            continue
        if schema is None and tool.get("defer_loading"):
            continue  # loaded later by a tool-search tool we do not run; nothing to declare
        if schema is not None and not isinstance(schema, dict):
            raise wrong_type(f"{param}.input_schema", "an object", schema)
        function: dict[str, Any] = {"name": name, "parameters": schema or {"type": "object"}}
        description = tool.get("description")
        if isinstance(description, str) and description:
            function["description"] = description
        found.functions.append(function)
    return found


def openai_tool_choice(body: Mapping[str, Any]) -> Any:
    """Anthropic `tool_choice` in OpenAI's spelling (`disable_parallel_tool_use` has no upstream knob)."""
    choice = body.get("tool_choice")
    if choice is None:
        return None
    if not isinstance(choice, dict):
        raise wrong_type("tool_choice", "an object", choice)
    kind = choice.get("type")
    if kind in ("auto", "none"):
        return kind
    if kind == "any":
        return "required"
    if kind == "tool":
        name = choice.get("name")
        if not isinstance(name, str) or not name:
            raise InvalidRequest("'tool_choice.name' must name a tool", param="tool_choice.name")
        return {"type": "function", "function": {"name": name}}
    raise InvalidRequest(
        f"Invalid 'tool_choice.type' {kind!r}: expected auto, any, tool or none", param="tool_choice.type"
    )


def tools_and_config(
    body: Mapping[str, Any], tools: AnthropicTools, *, model: ModelProfile
) -> tuple[ToolSet, dict[str, Any] | None]:
    """(the Gemini tool set, its `toolConfig`) through the OpenAI translator's rules."""
    openai_body = tools.openai_body()
    choice = openai_tool_choice(body)
    if choice is not None:
        openai_body["tool_choice"] = choice
    toolset = tools_from_openai(openai_body, model=model)
    return toolset, tool_config_from_openai(openai_body, toolset, model=model)


def anthropic_generation_config(body: Mapping[str, Any], *, model: ModelProfile) -> dict[str, Any]:
    """`generationConfig` for an Anthropic Messages body (see the module docstring)."""
    sampling: dict[str, Any] = {}
    for key in ("temperature", "top_p", "top_k", "max_tokens"):
        if body.get(key) is not None:
            sampling[key] = body[key]
    get_number(body, "temperature", low=0, high=1)
    thinking = get_dict(body, "thinking") or {}
    kind = thinking.get("type")
    if kind not in (None, "enabled", "disabled", "adaptive"):
        raise InvalidRequest(
            f"Invalid 'thinking.type' {kind!r}: expected enabled, disabled or adaptive", param="thinking.type"
        )
    effort = _effort(body)
    if kind == "disabled":
        sampling["reasoning_effort"] = "none"
    elif effort is not None:
        sampling["reasoning_effort"] = effort
    config = generation_config(sampling, model=model)
    if kind == "disabled":
        config.pop("thinkingConfig", None)
        low = model.thinking_budget[0] if model.thinking_budget else None
        if low == 0:
            config["thinkingConfig"] = {"includeThoughts": False, "thinkingBudget": 0}
        elif model.can_think and not model.is_claude:
            config["thinkingConfig"] = {"includeThoughts": False}  # the model thinks; do not show it
    elif kind == "enabled":
        budget = get_int(thinking, "budget_tokens", low=1)
        if budget is None:
            raise InvalidRequest(
                "'thinking.budget_tokens' is required when thinking is enabled",
                param="thinking.budget_tokens",
            )
        _apply_budget(config, budget, model=model)
    stop = _stop_sequences(body)
    if stop:
        config["stopSequences"] = stop
    return config


def _apply_budget(config: dict[str, Any], budget: int, *, model: ModelProfile) -> None:
    """An explicit budget, within the model's range and below `maxOutputTokens` (Claude's rule)."""
    if model.thinking_budget is None:
        if model.can_think:
            config["thinkingConfig"] = {**config.get("thinkingConfig", {}), "includeThoughts": True}
        return
    low, high = model.thinking_budget
    budget = min(max(budget, low), high)
    cap = config.get("maxOutputTokens")
    if cap is not None and budget >= cap:
        budget = cap - 1
    if budget < max(low, 1):
        config.pop("thinkingConfig", None)  # no room to think under the client's max_tokens
        return
    config["thinkingConfig"] = {"includeThoughts": True, "thinkingBudget": budget}


def _effort(body: Mapping[str, Any]) -> str | None:
    output = get_dict(body, "output_config") or {}
    effort = output.get("effort")
    if effort is None:
        return None
    if effort not in EFFORTS:
        raise InvalidRequest(
            f"Invalid 'output_config.effort' {effort!r}: expected {', '.join(EFFORTS)}",
            param="output_config.effort",
        )
    return EFFORTS[effort]


def _stop_sequences(body: Mapping[str, Any]) -> list[str]:
    stop = body.get("stop_sequences")
    if stop is None:
        return []
    if not isinstance(stop, list) or not all(isinstance(item, str) for item in stop):
        raise wrong_type("stop_sequences", "an array of strings", stop)
    if len(stop) > MAX_STOP_SEQUENCES:
        raise InvalidRequest(
            f"'stop_sequences' may hold at most {MAX_STOP_SEQUENCES} sequences", param="stop_sequences"
        )
    return [item for item in stop if item]
