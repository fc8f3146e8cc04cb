"""Deterministic model answers: echoed text, thoughts, tool calls, code execution, search, images (§5.3).

The same request always gets the same answer (ids and signatures included), and the answer quotes
the prompt (`Echo (<model>): <first 200 chars>`) so tests can tell answers apart. Parts come at
stream granularity (text split into pieces); `cloudcode_stream.py` frames them as events and
`aggregate_parts` merges them for `generateContent`.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from switchyard.emulators.cloudcode_images import render_image
from switchyard.emulators.cloudcode_json import json_answer, wants_json
from switchyard.emulators.cloudcode_models import ModelFacts, Thinking, thinking_active
from switchyard.emulators.cloudcode_proto import get_field
from switchyard.emulators.cloudcode_signatures import SignatureFamily, issue_signature

ECHO_CHARS = 200
CHARS_PER_TOKEN = 4
IMAGE_INPUT_TOKENS = 258
IMAGE_OUTPUT_TOKENS = {"512": 747, "1K": 1120, "2K": 1120, "4K": 2000}
TEXT_PIECES = 3
THOUGHT_PIECES = 2
PARALLEL_TRIGGER = "parallel"
NO_CALL_MODES = frozenset({"NONE"})
TIER_THOUGHT_FACTORS = {"low": 1, "medium": 2, "high": 4}
DEFAULT_TIER_LEVEL = "medium"


@dataclass
class Answer:
    """One candidate: parts in order, why it ended, token counts, optional grounding."""

    model: str
    parts: list[dict[str, Any]]
    finish_reason: str
    prompt_tokens: int
    thoughts_tokens: int
    candidates_tokens: int
    grounding: dict[str, Any] | None = None
    image_tokens: int = 0
    anthropic: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.candidates_tokens + self.thoughts_tokens


def tokens_for(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def count_prompt_tokens(request: dict[str, Any]) -> int:
    """What countTokens reports and generate calls bill: ~4 characters a token, 258 per image."""
    contents = list(get_field(request, "contents") or [])
    system = get_field(request, "systemInstruction")
    if isinstance(system, dict):
        contents.append(system)
    total = 0
    for content in contents:
        for part in content.get("parts") or []:
            if isinstance(part.get("text"), str):
                total += tokens_for(part["text"])
            elif get_field(part, "inlineData") is not None or get_field(part, "fileData") is not None:
                total += IMAGE_INPUT_TOKENS
            else:
                total += tokens_for(json.dumps(part, sort_keys=True))
    return total


def request_digest(body: dict[str, Any]) -> str:
    """Identifies a request's meaning (not its envelope ids), for deterministic ids and shapes."""
    request = body.get("request") or {}
    meaning = {"model": body.get("model"), "contents": request.get("contents"), "tools": request.get("tools")}
    return hashlib.sha256(json.dumps(meaning, sort_keys=True, default=str).encode()).hexdigest()


def split_text(text: str, pieces: int) -> list[str]:
    """At least `pieces` non-empty chunks when the text is long enough, so streams have several events."""
    if len(text) < pieces:
        return [text]
    size = math.ceil(len(text) / pieces)
    return [text[i : i + size] for i in range(0, len(text), size)]


def last_user_content(request: dict[str, Any]) -> dict[str, Any]:
    contents = get_field(request, "contents") or [{}]
    return contents[-1]


def prompt_text(content: dict[str, Any]) -> str:
    return " ".join(
        p["text"]
        for p in content.get("parts") or []
        if isinstance(p.get("text"), str) and not p.get("thought")
    )


# --- building blocks -------------------------------------------------------------------------------


def _thought_tokens(facts: ModelFacts, thought: str, thinking: dict[str, Any]) -> int:
    """A `-tiered` id thinks harder at a higher level (default medium; §12.4)."""
    if facts.thinking is not Thinking.TIERED:
        return tokens_for(thought)
    level = str(get_field(thinking, "thinkingLevel") or DEFAULT_TIER_LEVEL).lower()
    return tokens_for(thought) * TIER_THOUGHT_FACTORS.get(level, TIER_THOUGHT_FACTORS[DEFAULT_TIER_LEVEL])


def _thought_parts(
    facts: ModelFacts, prompt: str, thinking: dict[str, Any]
) -> tuple[list[dict[str, Any]], int]:
    thought = f"**Considering the request**\n\nThe user wrote: {prompt[:80]!r}. I will answer it directly."
    tokens = _thought_tokens(facts, thought, thinking)
    if not get_field(thinking, "includeThoughts"):
        return [], tokens
    parts: list[dict[str, Any]] = [
        {"text": piece, "thought": True} for piece in split_text(thought, THOUGHT_PIECES)
    ]
    if facts.signatures is SignatureFamily.CLAUDE:
        # Claude's signature arrives in a trailing empty thought part (CPA tests, CPA PR#570).
        parts.append(
            {
                "text": "",
                "thought": True,
                "thoughtSignature": issue_signature(SignatureFamily.CLAUDE, thought),
            }
        )
    return parts, tokens


def sample_value(schema: Any, name: str, variant: int) -> Any:
    """A value that satisfies `schema`: required properties, the first enum value, type-correct leaves."""
    if not isinstance(schema, dict):
        return f"{name}-{variant}"
    if schema.get("enum"):
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for branch_key in ("anyOf", "oneOf"):
        if schema.get(branch_key):
            return sample_value(schema[branch_key][0], name, variant)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if str(k).lower() != "null"), "null")
    kind = str(kind).lower()
    if kind == "object":
        properties = schema.get("properties") or {}
        return {key: sample_value(properties.get(key), key, variant) for key in schema.get("required") or []}
    if kind == "array":
        return [sample_value(schema.get("items"), name, variant)]
    return {"integer": variant, "number": variant + 0.5, "boolean": True, "null": None}.get(
        kind, f"{name}-{variant}"
    )


def _chosen_function(request: dict[str, Any]) -> dict[str, Any] | None:
    declarations = [
        d for tool in get_field(request, "tools") or [] for d in get_field(tool, "functionDeclarations") or []
    ]
    calling = get_field(get_field(request, "toolConfig") or {}, "functionCallingConfig") or {}
    if not declarations or str(calling.get("mode", "AUTO")).upper() in NO_CALL_MODES:
        return None
    allowed = get_field(calling, "allowedFunctionNames")
    if allowed:
        declarations = [d for d in declarations if d.get("name") in allowed] or declarations
    return declarations[0]


def _sampled_calls(declaration: dict[str, Any], prompt: str) -> list[tuple[str, Any]]:
    """One call (two when the prompt asks for "parallel") with arguments that satisfy the schema."""
    schema = declaration.get("parameters", get_field(declaration, "parametersJsonSchema"))
    count = 2 if PARALLEL_TRIGGER in prompt.lower() else 1
    name = declaration["name"]
    return [(name, sample_value(schema or {"type": "object"}, name, index + 1)) for index in range(count)]


def _call_parts(facts: ModelFacts, calls: list[tuple[str, Any]], digest: str) -> list[dict[str, Any]]:
    """functionCall parts with ids and signatures as the model's family issues them."""
    parts: list[dict[str, Any]] = []
    for index, (name, args) in enumerate(calls):
        seed = hashlib.sha256(f"{digest}:{index}".encode()).hexdigest()
        call_id = f"toolu_vrtx_01{seed[:22]}" if facts.anthropic else f"fc_{seed[:16]}"
        parts.append({"functionCall": {"name": name, "args": args, "id": call_id}})
    if facts.signatures is SignatureFamily.GEMINI and (
        facts.checks_call_signatures or facts.supports_thinking
    ):
        # Only the first call of a turn is signed; parallel siblings are not (§8.4).
        parts[0]["thoughtSignature"] = issue_signature(
            SignatureFamily.GEMINI, json.dumps(parts[0]["functionCall"], sort_keys=True)
        )
    return parts


def _tool_results_text(content: dict[str, Any]) -> str:
    results = [get_field(p, "functionResponse") for p in content.get("parts") or []]
    quoted = [
        f"{r.get('name')} returned {json.dumps(r.get('response'), sort_keys=True)[:ECHO_CHARS]}"
        for r in results
        if r
    ]
    return "Tool results: " + "; ".join(quoted)


def _has_tool(request: dict[str, Any], name: str) -> bool:
    return any(get_field(tool, name) is not None for tool in get_field(request, "tools") or [])


def _grounding(prompt: str, text: str, digest: str) -> dict[str, Any]:
    uri = f"https://vertexaisearch.cloud.google.com/grounding-api-redirect/{digest[:32]}"
    return {
        "webSearchQueries": [prompt[:60]],
        "searchEntryPoint": {"renderedContent": f"<div class='emulated-search'>{prompt[:60]}</div>"},
        "groundingChunks": [{"web": {"uri": uri, "title": "example.com"}}],
        "groundingSupports": [
            {"segment": {"startIndex": 0, "endIndex": len(text), "text": text}, "groundingChunkIndices": [0]}
        ],
    }


def _code_parts(prompt: str) -> list[dict[str, Any]]:
    snippet = prompt[:40]
    return [
        {"executableCode": {"language": "PYTHON", "code": f"print({snippet!r})"}},
        {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": f"{snippet}\n"}},
    ]


def _image_parts(model: str, request: dict[str, Any], prompt: str) -> tuple[list[dict[str, Any]], int]:
    config = get_field(request, "generationConfig") or {}
    image_config = get_field(config, "imageConfig") or {}
    size = get_field(image_config, "imageSize")
    source = next(
        (
            get_field(p, "inlineData")
            for p in last_user_content(request).get("parts") or []
            if get_field(p, "inlineData")
        ),
        None,
    )
    data = render_image(
        prompt, get_field(image_config, "aspectRatio"), size, source.get("data") if source else None
    )
    signature = issue_signature(SignatureFamily.GEMINI, f"{model}|image|{prompt}")
    part = {"inlineData": {"mimeType": "image/jpeg", "data": data}, "thoughtSignature": signature}
    return [part], IMAGE_OUTPUT_TOKENS[size or "1K"]


def _wants_image(config: dict[str, Any]) -> tuple[bool, bool]:
    """(image, text) output for an image model; no `responseModalities` means both."""
    modalities = [str(m).upper() for m in get_field(config, "responseModalities") or ["TEXT", "IMAGE"]]
    return "IMAGE" in modalities, "TEXT" in modalities


# --- the answer --------------------------------------------------------------------------------------


def build_answer(body: dict[str, Any], facts: ModelFacts, scripted: dict[str, Any] | None = None) -> Answer:
    """The deterministic answer to a validated generate request, as the model behind `facts` gives it.

    `scripted` is a `/_control/script` reply (`{"text"}` or `{"function_call": {"name", "args"}}`) that
    replaces the echo, framed in the model's own format."""
    model = facts.serves_as or facts.id
    request: dict[str, Any] = body["request"]
    config = get_field(request, "generationConfig") or {}
    thinking = get_field(config, "thinkingConfig") or {}
    digest = request_digest(body)
    last = last_user_content(request)
    prompt = prompt_text(last)
    thought_parts: list[dict[str, Any]] = []
    thoughts_tokens = 0
    if thinking_active(facts, thinking):
        thought_parts, thoughts_tokens = _thought_parts(facts, prompt, thinking)

    answer_parts: list[dict[str, Any]] = []
    finish_reason = "STOP"
    grounding = None
    image_tokens = 0
    function = _chosen_function(request)
    has_results = any(get_field(p, "functionResponse") for p in last.get("parts") or [])
    echo = f"Echo ({model}): {prompt[:ECHO_CHARS]}"
    if scripted is not None and "function_call" in scripted:
        call = scripted["function_call"]
        answer_parts = _call_parts(facts, [(call["name"], call.get("args") or {})], digest)
        finish_reason = "OTHER" if facts.anthropic else "STOP"
        text = ""
    elif scripted is not None:
        text = str(scripted.get("text", ""))
    elif has_results:
        text = f"Echo ({model}): {_tool_results_text(last)}"
    elif function is not None and last.get("role") == "user":
        answer_parts = _call_parts(facts, _sampled_calls(function, prompt), digest)
        finish_reason = "OTHER" if facts.anthropic else "STOP"
        text = ""
    elif facts.image_output:
        wants_image, wants_text = _wants_image(config)
        text = f"Here is the image you asked for: {prompt[:ECHO_CHARS]}" if wants_text else ""
        if wants_image:
            answer_parts, image_tokens = _image_parts(model, request, prompt)
    elif wants_json(config):
        text = json_answer(config, prompt)
    else:
        text = echo
        if _has_tool(request, "codeExecution"):
            answer_parts = _code_parts(prompt)
        if _has_tool(request, "googleSearch"):
            grounding = _grounding(prompt, text, digest)

    text_parts = _text_parts(facts, text, digest) if text else []
    if facts.image_output:
        parts = [*thought_parts, *text_parts, *answer_parts]
    else:
        parts = [*thought_parts, *answer_parts, *text_parts]
    candidates = (
        tokens_for(text)
        + image_tokens
        + sum(tokens_for(json.dumps(p, sort_keys=True)) for p in answer_parts if "inlineData" not in p)
    )
    return Answer(
        model=model,
        parts=parts,
        finish_reason=finish_reason,
        prompt_tokens=count_prompt_tokens(request),
        thoughts_tokens=thoughts_tokens,
        candidates_tokens=candidates,
        grounding=grounding,
        image_tokens=image_tokens,
        anthropic=facts.anthropic,
    )


def notice_answer(model: str, text: str) -> Answer:
    """A retirement or outdated-client notice: a plain model turn with no tokens billed (§12.3)."""
    return Answer(
        model=model,
        parts=[{"text": text}],
        finish_reason="STOP",
        prompt_tokens=0,
        thoughts_tokens=0,
        candidates_tokens=0,
    )


def _text_parts(facts: ModelFacts, text: str, digest: str) -> list[dict[str, Any]]:
    """Text pieces; Gemini 3 signs the last piece, or (for half the requests) a trailing empty part."""
    parts: list[dict[str, Any]] = [{"text": piece} for piece in split_text(text, TEXT_PIECES)]
    if facts.checks_call_signatures and not facts.image_output:
        signature = issue_signature(SignatureFamily.GEMINI, f"{facts.id}|{text}")
        if int(digest[-1], 16) % 2:
            parts.append({"text": "", "thoughtSignature": signature})
        else:
            parts[-1]["thoughtSignature"] = signature
    return parts


def aggregate_parts(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge stream pieces as the non-stream answer has them: one thought part, one text part."""
    merged: list[dict[str, Any]] = []
    for part in parts:
        previous = merged[-1] if merged else None
        mergeable = (
            previous is not None
            and isinstance(part.get("text"), str)
            and isinstance(previous.get("text"), str)
            and bool(previous.get("thought")) == bool(part.get("thought"))
            and "thoughtSignature" not in previous
        )
        if mergeable and previous is not None:
            previous["text"] += part["text"]
            if "thoughtSignature" in part:
                previous["thoughtSignature"] = part["thoughtSignature"]
        else:
            merged.append(dict(part))
    return merged
