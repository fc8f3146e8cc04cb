"""Claude's own 400s behind Cloud Code (§7, §12.4, §12.5): Anthropic's messages, wrapped as a string.

Gemini-shaped requests are converted to Anthropic Messages by the backend, so Claude ids refuse what
Anthropic refuses: thinking budgets outside 1024..64000 or not below `maxOutputTokens`, `topP` < 0.95
while thinking, a tool schema without `type`, thinking blocks that are unsigned, foreign-signed or
empty, a final tool-use turn that does not start with thinking, and unpaired tool ids. Indexes in the
messages are Anthropic's (`messages.N` = the N-th content, `tools.N` = the N-th declaration).
"""

from __future__ import annotations

from typing import Any

from switchyard.emulators.cloudcode_errors import anthropic_invalid_request
from switchyard.emulators.cloudcode_models import ModelFacts, effective_budget, thinking_active
from switchyard.emulators.cloudcode_proto import get_field
from switchyard.emulators.cloudcode_signatures import SignatureFamily, issued_family

MAX_TOKENS_MESSAGE = (
    "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at "
    "https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size"
)
TOP_P_MESSAGE = (
    "`top_p` must be greater than or equal to 0.95 or unset when thinking is enabled. Please consult our "
    "documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#feature-compatibility"
)
MIN_THINKING_TOP_P = 0.95
LEADING_THINKING_MESSAGE = (
    "messages.{index}.content.0.type: Expected `thinking` or `redacted_thinking`, but found `{found}`. When "
    "`thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the "
    "lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from "
    "previous turns. To avoid this requirement, disable `thinking`. Please consult our documentation at "
    "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
)


def validate_claude(facts: ModelFacts, request: dict[str, Any]) -> None:
    config = get_field(request, "generationConfig") or {}
    thinking = get_field(config, "thinkingConfig") or {}
    active = thinking_active(facts, thinking)
    if active:
        _check_thinking_config(facts, config, thinking)
    _check_tool_schemas(get_field(request, "tools") or [])
    contents = get_field(request, "contents") or []
    validate_claude_history(contents)
    if active:
        _check_leading_thinking(contents)


def _check_thinking_config(facts: ModelFacts, config: dict[str, Any], thinking: dict[str, Any]) -> None:
    budget = effective_budget(facts, thinking)
    low, high = facts.budget_range or (1, 1 << 31)
    if isinstance(budget, int) and budget < low:
        raise anthropic_invalid_request(
            f"thinking.enabled.budget_tokens: Input should be greater than or equal to {low}"
        )
    if isinstance(budget, int) and budget > high:
        raise anthropic_invalid_request(
            f"thinking.enabled.budget_tokens: Input should be less than or equal to {high}"
        )
    max_output = get_field(config, "maxOutputTokens")
    if isinstance(budget, int) and isinstance(max_output, int) and max_output <= budget:
        raise anthropic_invalid_request(MAX_TOKENS_MESSAGE)
    top_p = get_field(config, "topP")
    if isinstance(top_p, int | float) and top_p < MIN_THINKING_TOP_P:
        raise anthropic_invalid_request(TOP_P_MESSAGE)


def _check_tool_schemas(tools: list[dict[str, Any]]) -> None:
    """Anthropic needs `input_schema.type`; Gemini takes `parameters: {}` but Claude does not (§12.5)."""
    declarations = [d for tool in tools for d in get_field(tool, "functionDeclarations") or []]
    for index, declaration in enumerate(declarations):
        schema = declaration.get("parameters", get_field(declaration, "parametersJsonSchema"))
        if isinstance(schema, dict) and "type" not in schema:
            raise anthropic_invalid_request(f"tools.{index}.custom.input_schema.type: Field required")


def _check_leading_thinking(contents: list[dict[str, Any]]) -> None:
    """With thinking on, the last assistant turn holding tool_use must start with thinking (§12.4)."""
    for index in range(len(contents) - 1, -1, -1):
        content = contents[index]
        parts = content.get("parts") or []
        if content.get("role") != "model" or not any(get_field(p, "functionCall") for p in parts):
            continue
        first = parts[0]
        if not first.get("thought"):
            found = "tool_use" if get_field(first, "functionCall") is not None else "text"
            raise anthropic_invalid_request(LEADING_THINKING_MESSAGE.format(index=index, found=found))
        return


def validate_claude_history(contents: list[dict[str, Any]]) -> None:
    """Anthropic's checks on the converted messages: tool ids present and paired, thinking signed by Claude."""
    for i, content in enumerate(contents):
        parts = content.get("parts") or []
        if content.get("role") == "model":
            _check_claude_thinking(i, parts)
        for j, part in enumerate(parts):
            call = get_field(part, "functionCall")
            if call is not None and not call.get("id"):
                raise anthropic_invalid_request(f"messages.{i}.content.{j}.tool_use.id: Field required")
            response = get_field(part, "functionResponse")
            if response is not None and not response.get("id"):
                raise anthropic_invalid_request(
                    f"messages.{i}.content.{j}.tool_result.tool_use_id: Field required"
                )
    _check_claude_tool_pairs(contents)


def _check_claude_thinking(index: int, parts: list[dict[str, Any]]) -> None:
    """Consecutive thought parts form one thinking block; it needs exactly Claude's own signature."""
    block_start: int | None = None
    block_signed = False
    block_text = ""
    for j, part in enumerate([*parts, {}]):
        if part.get("thought"):
            if block_start is None:
                block_start, block_signed, block_text = j, False, ""
            block_text += str(part.get("text") or "")
            signature = get_field(part, "thoughtSignature")
            if signature:
                if issued_family(signature) is not SignatureFamily.CLAUDE:
                    raise anthropic_invalid_request(
                        f"messages.{index}.content.{block_start}: Invalid `signature` in `thinking` block"
                    )
                block_signed = True
            continue
        if block_start is not None and not block_signed:
            raise anthropic_invalid_request(
                f"messages.{index}.content.{block_start}.thinking.signature: Field required"
            )
        if block_start is not None and not block_text:
            # Redacted or emptied thinking: the signature survives but the text is gone (CPA PR#2723).
            raise anthropic_invalid_request(
                f"messages.{index}.content.{block_start}.thinking.thinking: Field required"
            )
        block_start = None


def _ids(parts: list[dict[str, Any]], kind: str) -> list[tuple[int, str]]:
    return [(j, get_field(p, kind)["id"]) for j, p in enumerate(parts) if get_field(p, kind) is not None]


def _check_claude_tool_pairs(contents: list[dict[str, Any]]) -> None:
    """Each tool_use needs its tool_result in the very next message, and each result its call."""
    for i, content in enumerate(contents):
        parts = content.get("parts") or []
        previous_calls = (
            {call_id for _, call_id in _ids(contents[i - 1].get("parts") or [], "functionCall")}
            if i
            else set()
        )
        for j, result_id in _ids(parts, "functionResponse"):
            if result_id not in previous_calls:
                raise anthropic_invalid_request(
                    f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` blocks: {result_id}. "
                    "Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
                )
        call_ids = [call_id for _, call_id in _ids(parts, "functionCall")]
        if call_ids and i + 1 < len(contents):
            answered = {rid for _, rid in _ids(contents[i + 1].get("parts") or [], "functionResponse")}
            missing = [call_id for call_id in call_ids if call_id not in answered]
            if missing:
                raise anthropic_invalid_request(
                    f"messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: "
                    f"{', '.join(missing)}. Each `tool_use` block must have a corresponding `tool_result` block "
                    "in the next message."
                )
