"""The 400s Cloud Code answers after parsing: contents, tools, thinking, images, signatures (§7, §10.3).

Proto-level failures (unknown names, schema keywords) are in `cloudcode_proto.py`; these are the
checks a backend makes on a well-formed message. Claude models answer with Anthropic's own message
wrapped as a string; Gemini models with Google's. Messages are copied from issue captures where the
notes quote them; where the notes mark the text [U], a plausible Google-style message is used.
"""

from __future__ import annotations

import re
from typing import Any

from switchyard.emulators.cloudcode_catalogue import is_claude, is_gemini3, is_image_model
from switchyard.emulators.cloudcode_errors import (
    anthropic_invalid_request,
    invalid_argument,
    invalid_payload,
)
from switchyard.emulators.cloudcode_proto import get_field
from switchyard.emulators.cloudcode_signatures import SignatureFamily, is_gemini_sentinel, issued_family

VALID_ROLES = ("user", "model")
ROLE_MESSAGE = "Please use a valid role: user, model."
NO_CONTENTS = "* GenerateContentRequest.contents: contents is not specified\n"
FUNCTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$")
FUNCTION_NAME_MESSAGE = (
    "[FIELD_INVALID] Invalid function name. Must start with a letter or an underscore. Must be alphameric "
    "(a-z, A-Z, 0-9), underscores (_), dots (.), colons (:), or dashes (-), with a maximum length of 64."
)
BOTH_SCHEMAS_MESSAGE = "parameters_json_schema must not be set when parameters is set"  # [U] exact text
SEARCH_TOOLS = ("googleSearch", "googleSearchRetrieval", "urlContext", "enterpriseWebSearch")
MIXED_TOOLS_MESSAGE = "Multiple tools are supported only when they are all search tools."
MULTIMODAL_MESSAGE = "Multi-modal output is not supported."
MODALITIES = frozenset({"TEXT", "IMAGE", "AUDIO"})
ASPECT_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
IMAGE_SIZES = ("1K", "2K", "4K")
CLAUDE_MIN_THINKING_BUDGET = 1024
CLAUDE_MAX_TOKENS_MESSAGE = (
    "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at "
    "https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size"
)
GEMINI_MAX_TOKENS_MESSAGE = "max_output_tokens must be greater than thinking_budget."  # [U] exact text
THINKING_LEVELS = {"gemini-3-flash": ("minimal", "low", "medium", "high")}
DEFAULT_GEMINI3_LEVELS = ("low", "high")
MISSING_SIGNATURE_MESSAGE = (
    "Function call is missing a thought_signature in functionCall parts. This is required for tools to work "
    "correctly, and missing thought_signature may lead to degraded model performance. Additional data, "
    "function call `default_api:{name}` , position {position}. Please refer to "
    "https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
)
CORRUPTED_SIGNATURE_MESSAGE = "Corrupted thought signature."


def require_envelope(body: dict[str, Any]) -> tuple[str, str]:
    """`project` and `model` are required (§4); CPA-H will not even send a request without a project."""
    for name in ("project", "model"):
        value = body.get(name)
        if not isinstance(value, str) or not value:
            raise invalid_argument("Request contains an invalid argument.", field=name)
    return body["project"], body["model"]


def validate_generation(model: str, request: dict[str, Any]) -> None:
    """Every post-parse check, in the order the backend would reach them."""
    contents = get_field(request, "contents") or []
    validate_contents(contents)
    validate_tools(get_field(request, "tools") or [])
    validate_generation_config(model, get_field(request, "generationConfig") or {})
    if is_claude(model):
        validate_claude_history(contents)
    elif is_gemini3(model):
        validate_gemini3_signatures(contents)


def validate_contents(contents: list[dict[str, Any]]) -> None:
    if not contents:
        raise invalid_argument(NO_CONTENTS)
    for content in contents:
        if content.get("role") not in VALID_ROLES:
            raise invalid_argument(ROLE_MESSAGE)
    lines: list[str] = []
    for i, content in enumerate(contents):
        parts = content.get("parts") or []
        if not parts:
            lines.append(f"* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty.\n")
        for j, part in enumerate(parts):
            if not _has_data(part):
                lines.append(
                    f"* GenerateContentRequest.contents[{i}].parts[{j}].data: required oneof field 'data' "
                    "must have one initialized field\n"
                )
    if lines:
        raise invalid_argument("".join(lines))


def _has_data(part: dict[str, Any]) -> bool:
    data_fields = ("text", "inlineData", "fileData", "functionCall", "functionResponse")
    return any(
        get_field(part, name) is not None for name in (*data_fields, "executableCode", "codeExecutionResult")
    )


def validate_tools(tools: list[dict[str, Any]]) -> None:
    has_functions = any(get_field(tool, "functionDeclarations") for tool in tools)
    has_search = any(get_field(tool, name) is not None for tool in tools for name in SEARCH_TOOLS)
    if has_functions and has_search:
        raise invalid_argument(MIXED_TOOLS_MESSAGE)
    for i, tool in enumerate(tools):
        for j, declaration in enumerate(get_field(tool, "functionDeclarations") or []):
            path = f"tools[{i}].function_declarations[{j}]"
            if not FUNCTION_NAME.match(str(declaration.get("name", ""))):
                raise invalid_argument(f"* GenerateContentRequest.{path}.name: {FUNCTION_NAME_MESSAGE}\n")
            if "parameters" in declaration and get_field(declaration, "parametersJsonSchema") is not None:
                raise invalid_argument(BOTH_SCHEMAS_MESSAGE, field=f"request.{path}")


def validate_generation_config(model: str, config: dict[str, Any]) -> None:
    thinking = get_field(config, "thinkingConfig") or {}
    budget = get_field(thinking, "thinkingBudget")
    max_output = get_field(config, "maxOutputTokens")
    if is_claude(model) and isinstance(budget, int) and 0 < budget < CLAUDE_MIN_THINKING_BUDGET:
        raise anthropic_invalid_request(
            f"thinking.enabled.budget_tokens: Input should be greater than or equal to {CLAUDE_MIN_THINKING_BUDGET}"
        )
    if isinstance(budget, int) and budget > 0 and isinstance(max_output, int) and max_output <= budget:
        if is_claude(model):
            raise anthropic_invalid_request(CLAUDE_MAX_TOKENS_MESSAGE)
        raise invalid_argument(GEMINI_MAX_TOKENS_MESSAGE, field="request.generation_config.max_output_tokens")
    _validate_thinking_level(model, get_field(thinking, "thinkingLevel"))
    _validate_modalities(model, get_field(config, "responseModalities") or [])
    if is_image_model(model):
        _validate_image_config(get_field(config, "imageConfig") or {})


def _validate_thinking_level(model: str, level: Any) -> None:
    """Gemini 3 levels are per model; `minimal` on Pro is refused (OAA docs/MODEL-VARIANTS.md)."""
    if level is None or not is_gemini3(model):
        return
    allowed = THINKING_LEVELS.get(model, DEFAULT_GEMINI3_LEVELS)
    if str(level).lower() not in allowed:
        raise invalid_argument(
            f"Thinking level {str(level).upper()} is not supported for this model.",
            field="request.generation_config.thinking_config.thinking_level",
        )


def _validate_modalities(model: str, modalities: list[Any]) -> None:
    for index, modality in enumerate(modalities):
        if str(modality).upper() not in MODALITIES:
            path = f"request.generation_config.response_modalities[{index}]"
            detail = (
                f"Invalid value at '{path}' (type.googleapis.com/google.cloud.aiplatform.v1beta1.Modality)"
            )
            raise invalid_payload([(path, f'{detail}, "{modality}"')])
    if any(str(m).upper() == "IMAGE" for m in modalities) and not is_image_model(model):
        raise invalid_argument(MULTIMODAL_MESSAGE)


def _validate_image_config(image_config: dict[str, Any]) -> None:
    """Only the fixed ratios and `1K`/`2K`/`4K` (upper-case K, as Google insists)."""
    ratio = get_field(image_config, "aspectRatio")
    if ratio is not None and ratio not in ASPECT_RATIOS:
        raise invalid_argument(
            f"Unsupported aspect ratio: {ratio}. Supported values are {', '.join(ASPECT_RATIOS)}.",
            field="request.generation_config.image_config.aspect_ratio",
        )
    size = get_field(image_config, "imageSize")
    if size is not None and size not in IMAGE_SIZES:
        raise invalid_argument(
            f"Unsupported image size: {size}. Supported values are {', '.join(IMAGE_SIZES)}.",
            field="request.generation_config.image_config.image_size",
        )


# --- signatures and tool ids -----------------------------------------------------------------------


def validate_gemini3_signatures(contents: list[dict[str, Any]]) -> None:
    """Every model turn's first functionCall needs a signature; any signature must be ours or a sentinel."""
    for position, content in enumerate(contents):
        parts = content.get("parts") or []
        for part in parts:
            signature = get_field(part, "thoughtSignature")
            if (
                signature
                and not is_gemini_sentinel(signature)
                and issued_family(signature) is not SignatureFamily.GEMINI
            ):
                raise invalid_argument(CORRUPTED_SIGNATURE_MESSAGE)
        if content.get("role") != "model":
            continue
        calls = [part for part in parts if get_field(part, "functionCall") is not None]
        if calls and not get_field(calls[0], "thoughtSignature"):
            name = get_field(calls[0], "functionCall").get("name", "")
            raise invalid_argument(MISSING_SIGNATURE_MESSAGE.format(name=name, position=position))


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
    for j, part in enumerate([*parts, {}]):
        if part.get("thought"):
            if block_start is None:
                block_start, block_signed = j, False
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
