"""Cloud Code emulator: the 400/404 answers a careless gateway would get from the real upstream."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from switchyard.emulators.cloudcode import create_app
from switchyard.emulators.cloudcode_proto import ACCEPTED_SCHEMA_KEYWORDS
from tests.emulators.test_cloudcode_support import (
    ACCOUNT,
    SENTINEL,
    CloudCode,
    ask,
    error_of,
    parts_of,
    served,
    token_for,
    user,
    weather_tool,
)
from tests.servers import serve

CONST_MESSAGE = (
    'Invalid JSON payload received. Unknown name "const" at '
    "'request.tools[0].function_declarations[0].parameters.properties[1].value': Cannot find field."
)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve(create_app()) as base:
        yield base


@pytest.fixture
def cc(server: str) -> Iterator[CloudCode]:
    yield from served(server)


def rejected(response: Any, message: str) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    error = error_of(response)
    assert (error["code"], error["status"]) == (400, "INVALID_ARGUMENT")
    assert error["message"] == message
    return error


def claude_message(response: Any) -> str:
    """Claude's error is Anthropic's JSON, as a string inside the Google envelope."""
    assert response.status_code == 400, response.text
    inner = json.loads(error_of(response)["message"])
    assert inner["type"] == "error" and inner["error"]["type"] == "invalid_request_error"
    assert inner["request_id"].startswith("req_vrtx_")
    message: str = inner["error"]["message"]
    return message


def tool(parameters: dict[str, Any], name: str = "lookup") -> list[dict[str, Any]]:
    return [{"functionDeclarations": [{"name": name, "description": "d", "parameters": parameters}]}]


# --- envelope and contents -------------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["project", "model"])
def test_missing_envelope_field(cc: CloudCode, missing: str) -> None:
    body = cc.envelope("gemini-2.5-flash", ask("hi"))
    del body[missing]
    error = rejected(cc.call("generateContent", body), "Request contains an invalid argument.")
    assert error["details"][0]["fieldViolations"][0]["field"] == missing


def test_empty_contents(cc: CloudCode) -> None:
    response = cc.generate("gemini-2.5-flash", {"contents": []})
    rejected(response, "* GenerateContentRequest.contents: contents is not specified\n")


@pytest.mark.parametrize("role", ["assistant", "system", "tool"])
def test_roles_other_than_user_and_model(cc: CloudCode, role: str) -> None:
    request = {"contents": [user("hi"), {"role": role, "parts": [{"text": "x"}]}]}
    rejected(cc.generate("gemini-2.5-flash", request), "Please use a valid role: user, model.")


def test_empty_parts_and_dataless_parts(cc: CloudCode) -> None:
    request = {"contents": [{"role": "user", "parts": []}, {"role": "user", "parts": [{"thought": True}]}]}
    rejected(
        cc.generate("gemini-2.5-flash", request),
        "* GenerateContentRequest.contents[0].parts: contents.parts must not be empty.\n"
        "* GenerateContentRequest.contents[1].parts[0].data: required oneof field 'data' must have one "
        "initialized field\n",
    )


def test_string_system_instruction(cc: CloudCode) -> None:
    response = cc.generate("gemini-2.5-flash", ask("hi", systemInstruction="Be brief."))
    assert response.status_code == 400
    assert error_of(response)["message"] == (
        "Invalid JSON payload received. Invalid value at 'request.system_instruction' "
        '(type.googleapis.com/google.cloud.aiplatform.v1beta1.Content), "Be brief."'
    )
    assert cc.generate(
        "gemini-2.5-flash", ask("hi", systemInstruction={"parts": [{"text": "Be brief."}]})
    ).is_success


@pytest.mark.parametrize("field", ["thinking", "signature", "type"])
def test_unknown_fields_inside_parts(cc: CloudCode, field: str) -> None:
    model_turn = {"role": "model", "parts": [{"text": "ok", field: "x"}]}
    request = {"contents": [user("hi"), model_turn, user("again")]}
    rejected(
        cc.generate("gemini-2.5-flash", request),
        f"Invalid JSON payload received. Unknown name \"{field}\" at 'request.contents[1].parts[0]': Cannot find field.",
    )


def test_every_unknown_name_is_listed(cc: CloudCode) -> None:
    request = {"contents": [user("hi")], "model": "gemini-2.5-flash", "extra": 1}
    error = rejected(
        cc.generate("gemini-2.5-flash", request),
        "Invalid JSON payload received. Unknown name \"model\" at 'request': Cannot find field.\n"
        "Invalid JSON payload received. Unknown name \"extra\" at 'request': Cannot find field.",
    )
    assert [v["field"] for v in error["details"][0]["fieldViolations"]] == ["request", "request"]


def test_two_data_fields_in_one_part(cc: CloudCode) -> None:
    part = {"text": "hi", "functionCall": {"name": "f", "args": {}}}
    response = cc.generate("gemini-2.5-flash", {"contents": [{"role": "user", "parts": [part]}]})
    rejected(
        response,
        "Invalid JSON payload received. Oneof field 'data' is already set. Cannot set 'functionCall'",
    )


def test_inline_data_must_be_base64(cc: CloudCode) -> None:
    part = {"inlineData": {"mimeType": "image/png", "data": "not base64!!"}}
    response = cc.generate("gemini-2.5-flash", {"contents": [{"role": "user", "parts": [part]}]})
    assert response.status_code == 400
    assert "Base64 decoding failed" in error_of(response)["message"]


def test_snake_case_spellings_are_accepted(cc: CloudCode) -> None:
    request = {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "system_instruction": {"parts": [{"text": "s"}]},
        "generation_config": {"max_output_tokens": 100, "thinking_config": {"include_thoughts": True}},
    }
    assert cc.generate("gemini-2.5-flash", request).status_code == 200


def test_invalid_json(cc: CloudCode) -> None:
    headers = {"Authorization": f"Bearer {token_for(ACCOUNT)}", "Content-Type": "application/json"}
    response = cc.http.post("/v1internal:generateContent", content=b"not json", headers=headers)
    assert response.status_code == 400
    assert error_of(response)["message"].startswith("Invalid JSON payload received. Unexpected token.")


def test_unknown_model_is_404(cc: CloudCode) -> None:
    response = cc.generate("gemini-9-ultra", ask("hi"))
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"}
    }


# --- tool schemas ----------------------------------------------------------------------------------


def test_const_in_a_parameter_schema(cc: CloudCode) -> None:
    parameters = {
        "type": "object",
        "properties": {"kind": {"type": "string"}, "mode": {"type": "string", "const": "fast"}},
    }
    error = rejected(cc.generate("gemini-2.5-flash", ask("hi", tools=tool(parameters))), CONST_MESSAGE)
    violation = error["details"][0]["fieldViolations"][0]
    assert violation["field"] == "request.tools[0].function_declarations[0].parameters.properties[1].value"


@pytest.mark.parametrize(
    "keyword",
    [
        "$schema", "$ref", "$defs", "propertyNames", "x-mcp-header", "additionalProperties", "title", "default",
        "minimum", "maximum", "minLength", "pattern", "minItems", "uniqueItems", "anyOf", "oneOf", "allOf",
        "deprecated", "examples",
    ],
)  # fmt: skip
def test_schema_keywords_outside_the_allow_list(cc: CloudCode, keyword: str) -> None:
    parameters = {"type": "object", "properties": {"q": {"type": "string"}}, keyword: {}}
    rejected(
        cc.generate("gemini-2.5-flash", ask("hi", tools=tool(parameters))),
        f'Invalid JSON payload received. Unknown name "{keyword}" at '
        "'request.tools[0].function_declarations[0].parameters': Cannot find field.",
    )


def test_nested_schema_paths(cc: CloudCode) -> None:
    parameters = {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"type": "object", "properties": {"a": {"maxLength": 3}}}}
        },
    }
    rejected(
        cc.generate("gemini-2.5-flash", ask("hi", tools=tool(parameters))),
        'Invalid JSON payload received. Unknown name "maxLength" at '
        "'request.tools[0].function_declarations[0].parameters.properties[0].value.items.properties[0].value': "
        "Cannot find field.",
    )


def test_every_allowed_keyword_is_accepted(cc: CloudCode) -> None:
    parameters = {
        "type": "OBJECT",
        "description": "all of them",
        "properties": {
            "const": {"type": "string", "format": "date-time", "nullable": True},  # a property *named* const
            "x-header": {"type": "string", "enum": ["a", "b"]},
            "list": {"type": "array", "items": {"type": "integer"}},
        },
        "required": ["const"],
    }
    assert {"type", "format", "description", "nullable", "enum", "properties", "required", "items"} == set(
        ACCEPTED_SCHEMA_KEYWORDS
    )
    assert cc.generate("gemini-2.5-flash", ask("hi", tools=tool(parameters))).status_code == 200


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        (
            {"type": ["string", "null"]},
            "Invalid JSON payload received. Proto field is not repeating, cannot start list.",
        ),
        (
            {"type": "string", "enum": [1, 2]},
            "Invalid JSON payload received. Invalid value at "
            "'request.tools[0].function_declarations[0].parameters.properties[0].value.enum[0]' (TYPE_STRING), 1\n"
            "Invalid JSON payload received. Invalid value at "
            "'request.tools[0].function_declarations[0].parameters.properties[0].value.enum[1]' (TYPE_STRING), 2",
        ),
    ],
)
def test_schema_value_types(cc: CloudCode, schema: dict[str, Any], message: str) -> None:
    parameters = {"type": "object", "properties": {"v": schema}}
    rejected(cc.generate("gemini-2.5-flash", ask("hi", tools=tool(parameters))), message)


def test_parameters_and_parameters_json_schema_together(cc: CloudCode) -> None:
    declaration = {
        "name": "lookup",
        "parameters": {"type": "object", "properties": {}},
        "parametersJsonSchema": {"type": "object"},
    }
    response = cc.generate("gemini-2.5-flash", ask("hi", tools=[{"functionDeclarations": [declaration]}]))
    rejected(response, "parameters_json_schema must not be set when parameters is set")
    del declaration["parameters"]
    assert cc.generate(
        "gemini-2.5-flash", ask("hi", tools=[{"functionDeclarations": [declaration]}])
    ).is_success


def test_invalid_function_name(cc: CloudCode) -> None:
    response = cc.generate("gemini-2.5-flash", ask("hi", tools=tool({"type": "object"}, name="9 lives")))
    assert response.status_code == 400
    assert "Invalid function name" in error_of(response)["message"]


def test_search_cannot_be_combined_with_functions(cc: CloudCode) -> None:
    tools = [*weather_tool(), {"googleSearch": {}}]
    response = cc.generate("gemini-2.5-flash", ask("hi", tools=tools))
    rejected(response, "Multiple tools are supported only when they are all search tools.")


# --- generation config -----------------------------------------------------------------------------


def test_gemini_accepts_a_budget_above_max_output_tokens(cc: CloudCode) -> None:
    """§12.4: the ceiling bounds thoughts and answer together; no 400 on Gemini."""
    config = {"maxOutputTokens": 1024, "thinkingConfig": {"thinkingBudget": 4096}}
    assert cc.generate("gemini-3.1-pro-low", ask("hi", generationConfig=config)).status_code == 200


def test_max_output_tokens_must_exceed_the_thinking_budget_claude(cc: CloudCode) -> None:
    config = {"maxOutputTokens": 2000, "thinkingConfig": {"includeThoughts": True, "thinkingBudget": 4000}}
    response = cc.generate("claude-sonnet-4-6", ask("hi", generationConfig=config))
    assert claude_message(response).startswith("`max_tokens` must be greater than `thinking.budget_tokens`.")


def test_claude_thinking_budget_minimum(cc: CloudCode) -> None:
    config = {"maxOutputTokens": 8000, "thinkingConfig": {"includeThoughts": True, "thinkingBudget": 512}}
    response = cc.generate("claude-opus-4-6-thinking", ask("hi", generationConfig=config))
    assert (
        claude_message(response)
        == "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
    )


def test_thinking_levels_per_model(cc: CloudCode) -> None:
    minimal = {"thinkingConfig": {"thinkingLevel": "minimal"}}
    assert cc.generate("gemini-3.8-flash-tiered", ask("hi", generationConfig=minimal)).status_code == 400
    assert cc.generate("gemini-3-flash", ask("hi", generationConfig=minimal)).status_code == 200
    # [U] in the notes: levels on 3.1 Pro are not refused.
    assert cc.generate("gemini-pro-agent", ask("hi", generationConfig=minimal)).status_code == 200


def test_image_output_on_a_text_model(cc: CloudCode) -> None:
    config = {"responseModalities": ["TEXT", "IMAGE"]}
    rejected(
        cc.generate("gemini-2.5-flash", ask("hi", generationConfig=config)),
        "Multi-modal output is not supported.",
    )


@pytest.mark.parametrize("image_config", [{"aspectRatio": "7:5"}, {"imageSize": "4k"}, {"imageSize": "8K"}])
def test_invalid_image_config(cc: CloudCode, image_config: dict[str, str]) -> None:
    response = cc.generate(
        "gemini-3.1-flash-image", ask("a cat", generationConfig={"imageConfig": image_config})
    )
    assert response.status_code == 400
    assert error_of(response)["message"].startswith("Unsupported ")


# --- Claude history --------------------------------------------------------------------------------


def claude_turns(call: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    return {
        "contents": [
            user("weather?"),
            {"role": "model", "parts": [{"functionCall": call}]},
            {"role": "user", "parts": [{"functionResponse": result}]},
        ]
    }


def test_claude_function_call_without_id(cc: CloudCode) -> None:
    request = claude_turns({"name": "w", "args": {}}, {"name": "w", "id": "toolu_1", "response": {}})
    assert (
        claude_message(cc.generate("claude-sonnet-4-6", request))
        == "messages.1.content.0.tool_use.id: Field required"
    )


def test_claude_function_response_without_id(cc: CloudCode) -> None:
    request = claude_turns({"name": "w", "args": {}, "id": "toolu_1"}, {"name": "w", "response": {}})
    assert (
        claude_message(cc.generate("claude-sonnet-4-6", request))
        == "messages.2.content.0.tool_result.tool_use_id: Field required"
    )


def test_claude_function_call_without_its_result(cc: CloudCode) -> None:
    request = claude_turns(
        {"name": "w", "args": {}, "id": "toolu_1"}, {"name": "w", "id": "toolu_2", "response": {}}
    )
    assert claude_message(cc.generate("claude-sonnet-4-6", request)) == (
        "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_1. "
        "Each `tool_use` block must have a corresponding `tool_result` block in the next message."
    )


def test_claude_function_response_with_a_foreign_id(cc: CloudCode) -> None:
    request = claude_turns(
        {"name": "w", "args": {}, "id": "toolu_1"}, {"name": "w", "id": "toolu_1", "response": {}}
    )
    request["contents"][2]["parts"].append(
        {"functionResponse": {"name": "w", "id": "toolu_2", "response": {}}}
    )
    assert claude_message(cc.generate("claude-sonnet-4-6", request)) == (
        "messages.2.content.1: unexpected `tool_use_id` found in `tool_result` blocks: toolu_2. "
        "Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
    )


def test_claude_paired_ids_are_accepted(cc: CloudCode) -> None:
    request = claude_turns(
        {"name": "w", "args": {}, "id": "toolu_1"}, {"name": "w", "id": "toolu_1", "response": {}}
    )
    assert cc.generate("claude-sonnet-4-6", request).status_code == 200


THINKING = {"maxOutputTokens": 8000, "thinkingConfig": {"includeThoughts": True, "thinkingBudget": 2048}}


def claude_thinking_history(thought_parts: list[dict[str, Any]]) -> dict[str, Any]:
    model_turn = {"role": "model", "parts": [*thought_parts, {"text": "Hello!"}]}
    return {"contents": [user("hi"), model_turn, user("and now?")], "generationConfig": THINKING}


def issued_signature(cc: CloudCode, model: str, request: dict[str, Any]) -> str:
    response = cc.generate(model, request)
    assert response.status_code == 200, response.text
    return next(part["thoughtSignature"] for part in parts_of(response.json()) if "thoughtSignature" in part)


@pytest.mark.parametrize("signature", [SENTINEL, "RmFicmljYXRlZCBzaWduYXR1cmU=", "not-even-base64"])
def test_claude_rejects_signatures_it_did_not_issue(cc: CloudCode, signature: str) -> None:
    history = claude_thinking_history([{"text": "I thought", "thought": True, "thoughtSignature": signature}])
    message = claude_message(cc.generate("claude-sonnet-4-6", history))
    assert message == "messages.1.content.0: Invalid `signature` in `thinking` block"


def test_claude_rejects_a_gemini_signature(cc: CloudCode) -> None:
    gemini = issued_signature(cc, "gemini-pro-agent", ask("hi"))
    history = claude_thinking_history([{"text": "I thought", "thought": True, "thoughtSignature": gemini}])
    message = claude_message(cc.generate("claude-sonnet-4-6", history))
    assert message == "messages.1.content.0: Invalid `signature` in `thinking` block"


def test_claude_requires_a_signature_on_thinking(cc: CloudCode) -> None:
    history = claude_thinking_history([{"text": "I thought", "thought": True}])
    message = claude_message(cc.generate("claude-sonnet-4-6", history))
    assert message == "messages.1.content.0.thinking.signature: Field required"


def test_claude_accepts_its_own_signature(cc: CloudCode) -> None:
    signature = issued_signature(cc, "claude-sonnet-4-6", ask("hi", generationConfig=THINKING))
    history = claude_thinking_history(
        [{"text": "I thought", "thought": True}, {"text": "", "thought": True, "thoughtSignature": signature}]
    )
    assert cc.generate("claude-sonnet-4-6", history).status_code == 200


# --- Gemini 3 thought signatures -------------------------------------------------------------------


def gemini3_history(calls: list[dict[str, Any]]) -> dict[str, Any]:
    responses = [{"functionResponse": {"name": "get_weather", "response": {"t": 20}}} for _ in calls]
    return {
        "contents": [
            user("weather?"),
            {"role": "model", "parts": calls},
            {"role": "user", "parts": responses},
        ],
        "tools": weather_tool(),
    }


def call_part(signature: str | None = None) -> dict[str, Any]:
    part: dict[str, Any] = {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}
    if signature is not None:
        part["thoughtSignature"] = signature
    return part


def test_gemini3_replayed_call_without_signature(cc: CloudCode) -> None:
    rejected(
        cc.generate("gemini-pro-agent", gemini3_history([call_part()])),
        "Function call is missing a thought_signature in functionCall parts. This is required for tools to work "
        "correctly, and missing thought_signature may lead to degraded model performance. Additional data, "
        "function call `default_api:get_weather` , position 1. Please refer to "
        "https://ai.google.dev/gemini-api/docs/thought-signatures for more details.",
    )
    assert cc.generate("gemini-2.5-flash", gemini3_history([call_part()])).status_code == 200


@pytest.mark.parametrize(
    "sentinel", ["skip_thought_signature_validator", "context_engineering_is_the_way_to_go"]
)
def test_gemini3_accepts_sentinels_on_the_first_call_only(cc: CloudCode, sentinel: str) -> None:
    history = gemini3_history([call_part(sentinel), call_part()])
    assert cc.generate("gemini-3-flash", history).status_code == 200


def test_gemini3_accepts_issued_signatures(cc: CloudCode) -> None:
    answer = cc.generate("gemini-3.1-pro-low", ask("weather?", tools=weather_tool()))
    calls = [part for part in parts_of(answer.json()) if "functionCall" in part]
    assert "thoughtSignature" in calls[0]
    assert cc.generate("gemini-3.1-pro-low", gemini3_history(calls)).status_code == 200


def test_gemini3_rejects_fabricated_and_claude_signatures(cc: CloudCode) -> None:
    claude = issued_signature(cc, "claude-sonnet-4-6", ask("hi", generationConfig=THINKING))
    for signature in ("RmFicmljYXRlZA==", claude):
        rejected(
            cc.generate("gemini-pro-agent", gemini3_history([call_part(signature)])),
            "Corrupted thought signature.",
        )
