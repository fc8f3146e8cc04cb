"""The 400s Cloud Code answers after parsing: contents, tools, thinking, images, signatures (§7, §10.3).

Proto-level failures (unknown names, schema keywords) are in `cloudcode_proto.py`; these are the
checks a backend makes on a well-formed message. Claude models answer with Anthropic's own message
wrapped as a string; Gemini models with Google's. Messages are copied from issue captures where the
notes quote them; where the notes mark the text [U], a plausible Google-style message is used.
"""

from __future__ import annotations

import re
from typing import Any

from switchyard.emulators.cloudcode_errors import (
    invalid_argument,
    invalid_payload,
    model_not_found,
)
from switchyard.emulators.cloudcode_models import MODELS, ModelFacts, Thinking
from switchyard.emulators.cloudcode_proto import get_field
from switchyard.emulators.cloudcode_signatures import SignatureFamily, is_gemini_sentinel, issued_family
from switchyard.emulators.cloudcode_validate_claude import validate_claude

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
ASPECT_RATIOS = (
    "1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9", "1:4", "4:1", "1:8", "8:1",
)  # fmt: skip
IMAGE_SIZES = ("512", "1K", "2K", "4K")
PENALTY_MESSAGE = "Penalty is not enabled for this model"
BUDGET_ZERO_MESSAGE = "Budget 0 is invalid. This model only works in thinking mode."
PENALTY_FIELDS = ("presencePenalty", "frequencyPenalty")
WEB_URL_SCHEMES = ("http://", "https://")
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


def validate_generation(model: str, request: dict[str, Any], facts: ModelFacts | None = None) -> None:
    """Every post-parse check, in the order the backend would reach them."""
    facts = facts or MODELS.get(model)
    contents = get_field(request, "contents") or []
    validate_contents(contents)
    validate_tools(get_field(request, "tools") or [])
    config = get_field(request, "generationConfig") or {}
    if facts is None:
        return
    if facts.image_output:
        validate_image_request(facts, request)
    validate_generation_config(facts, config)
    if facts.anthropic:
        validate_claude(facts, request)
    elif facts.checks_call_signatures:
        validate_gemini3_signatures(contents)
    refuse_web_file_uris(contents)


def refuse_web_file_uris(contents: list[dict[str, Any]]) -> None:
    """`fileData` with a web URL is looked up as a stored file and not found (§12.5)."""
    for content in contents:
        for part in content.get("parts") or []:
            file_data = get_field(part, "fileData") or {}
            if str(get_field(file_data, "fileUri") or "").lower().startswith(WEB_URL_SCHEMES):
                raise model_not_found()


def validate_image_request(facts: ModelFacts, request: dict[str, Any]) -> None:
    """The image model takes neither tools nor a system instruction; the anchors strip both (§12.5)."""
    if get_field(request, "tools"):
        raise invalid_argument(f"Function calling is not enabled for models/{facts.id}")
    if get_field(request, "systemInstruction") is not None:
        raise invalid_argument(f"Developer instruction is not enabled for models/{facts.id}")


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


def validate_generation_config(facts: ModelFacts, config: dict[str, Any]) -> None:
    """Penalties, budget 0 on thinking-only ids, thinking levels, modalities and image settings (§12.4, §12.5).

    A budget above `maxOutputTokens` is accepted on Gemini (§12.4); Claude's own limits are checked in
    `cloudcode_validate_claude.py`.
    """
    if not facts.penalties:
        for name in PENALTY_FIELDS:
            if get_field(config, name) is not None:
                raise invalid_argument(PENALTY_MESSAGE)
    thinking = get_field(config, "thinkingConfig") or {}
    if facts.thinking is Thinking.ALWAYS and get_field(thinking, "thinkingBudget") == 0:
        raise invalid_argument(BUDGET_ZERO_MESSAGE)
    _validate_thinking_level(facts, get_field(thinking, "thinkingLevel"))
    _validate_modalities(facts, get_field(config, "responseModalities") or [])
    if facts.image_output:
        _validate_image_config(get_field(config, "imageConfig") or {})


def _validate_thinking_level(facts: ModelFacts, level: Any) -> None:
    """Levels are per model (`-tiered` ids: low/medium/high); ids whose levels are [U] are not checked."""
    if level is None or facts.thinking_levels is None:
        return
    if str(level).lower() not in facts.thinking_levels:
        raise invalid_argument(
            f"Thinking level {str(level).upper()} is not supported for this model.",
            field="request.generation_config.thinking_config.thinking_level",
        )


def _validate_modalities(facts: ModelFacts, modalities: list[Any]) -> None:
    for index, modality in enumerate(modalities):
        if str(modality).upper() not in MODALITIES:
            path = f"request.generation_config.response_modalities[{index}]"
            detail = (
                f"Invalid value at '{path}' (type.googleapis.com/google.cloud.aiplatform.v1beta1.Modality)"
            )
            raise invalid_payload([(path, f'{detail}, "{modality}"')])
    if any(str(m).upper() == "IMAGE" for m in modalities) and not facts.image_output:
        raise invalid_argument(MULTIMODAL_MESSAGE)


def _validate_image_config(image_config: dict[str, Any]) -> None:
    """Google's AspectRatio enum (with 1:4, 4:1, 1:8, 8:1) and `512`/`1K`/`2K`/`4K` (upper-case K)."""
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
