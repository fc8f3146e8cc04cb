"""The Gemini-native surface as Google's public API behaves (issue 13): call ids filled for Claude,
Google's finish reasons, finish and usage in the last event, cleaned tool schemas, Google's 400s,
bytes fields in standard base64."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import orjson
import pytest

from tests.stack import Stack

WEATHER_TOOL = {
    "functionDeclarations": [
        {
            "name": "get_weather",
            "description": "Weather for a city",
            "parametersJsonSchema": {
                "$schema": "http://json-schema.org/draft-07/schema#",
                "type": "object",
                "properties": {
                    "city": {"type": "string", "minLength": 1},
                    "unit": {"anyOf": [{"const": "C"}, {"const": "F"}]},
                },
                "required": ["city"],
                "additionalProperties": False,
            },
        }
    ]
}


def _url(stack: Stack, model: str, method: str = "generateContent") -> str:
    return f"{stack.gateway}/antigravity/v1beta/models/{model}:{method}"


def _post(stack: Stack, key: str, model: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(_url(stack, model), headers={"x-goog-api-key": key}, json=body, timeout=30)


def _stream(stack: Stack, key: str, model: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    with httpx.stream(
        "POST",
        _url(stack, model, "streamGenerateContent") + "?alt=sse",
        headers={"x-goog-api-key": key},
        json=body,
        timeout=30,
    ) as response:
        assert response.status_code == 200, response.read()
        return [orjson.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: ")]


THOUGHTS = {"thinkingConfig": {"includeThoughts": True}}


def _first_turn(stream: bool, stack: Stack, key: str, model: str) -> tuple[list[dict[str, Any]], str]:
    """(the model turn's parts, its finish reason) for a prompt that calls the weather tool."""
    body = {
        "contents": [{"role": "user", "parts": [{"text": "Weather in Paris?"}]}],
        "tools": [WEATHER_TOOL],
        "generationConfig": THOUGHTS,
    }
    if stream:
        events = _stream(stack, key, model, body)
        parts = [p for e in events for c in e.get("candidates", []) for p in c["content"].get("parts", [])]
        reasons = [c["finishReason"] for e in events for c in e.get("candidates", []) if "finishReason" in c]
        assert len(reasons) == 1
        return parts, reasons[0]
    response = _post(stack, key, model, body)
    assert response.status_code == 200, response.text
    candidate = response.json()["candidates"][0]
    return candidate["content"]["parts"], candidate["finishReason"]


@pytest.mark.parametrize("stream", [False, True], ids=["unary", "stream"])
def test_claude_tool_turn_finishes_with_stop(stack: Stack, stream: bool) -> None:
    parts, reason = _first_turn(stream, stack, stack.create_key(), "claude-sonnet-4-6")
    assert any("functionCall" in part for part in parts)
    assert reason == "STOP"


@pytest.mark.parametrize("stream", [False, True], ids=["unary", "stream"])
def test_claude_second_turn_without_call_ids(stack: Stack, stream: bool) -> None:
    key = stack.create_key()
    parts, _ = _first_turn(stream, stack, key, "claude-sonnet-4-6")
    for part in parts:  # as google-genai and LangChain send them back: no ids
        part.get("functionCall", {}).pop("id", None)
    call = next(part["functionCall"] for part in parts if "functionCall" in part)
    body = {
        "contents": [
            {"role": "user", "parts": [{"text": "Weather in Paris?"}]},
            {"role": "model", "parts": parts},
            {"role": "user", "parts": [{"functionResponse": {"name": call["name"], "response": {"t": 21}}}]},
        ],
        "tools": [WEATHER_TOOL],
        "generationConfig": THOUGHTS,
    }
    response = _post(stack, key, "claude-sonnet-4-6", body)
    assert response.status_code == 200, response.text
    sent = stack.upstream_requests(":generateContent")[-1]["body"]["request"]["contents"]
    call_id = next(p["functionCall"]["id"] for p in sent[1]["parts"] if "functionCall" in p)
    assert call_id and sent[2]["parts"][0]["functionResponse"]["id"] == call_id


def test_stream_last_event_has_finish_and_usage(stack: Stack) -> None:
    httpx.post(f"{stack.cloudcode}/_control/settings", json={"split_usage": True}).raise_for_status()
    events = _stream(
        stack,
        stack.create_key(),
        "gemini-2.5-flash",
        {"contents": [{"role": "user", "parts": [{"text": "tell me about owls"}]}]},
    )
    last = events[-1]
    assert last["candidates"][0]["finishReason"] == "STOP"
    assert last["usageMetadata"]["candidatesTokenCount"] > 0
    assert all("candidates" in event for event in events)


def test_tool_schemas_cleaned_as_on_openai_route(stack: Stack) -> None:
    parts, _ = _first_turn(False, stack, stack.create_key(), "gemini-3-flash")
    assert any("functionCall" in part for part in parts)
    tools = stack.upstream_requests(":generateContent")[-1]["body"]["request"]["tools"]
    declaration = tools[0]["functionDeclarations"][0]
    assert "parametersJsonSchema" not in declaration
    parameters = declaration["parameters"]
    assert "$schema" not in parameters and "additionalProperties" not in parameters
    assert parameters["properties"]["unit"] == {"type": "string", "enum": ["C", "F"]}
    assert "minLength" in parameters["properties"]["city"]["description"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"generationConfig": {"temperature": "hot"}}, "generation_config.temperature"),
        ({"generation_config": {"max_output_tokens": 1.5}}, "generation_config.max_output_tokens"),
        ({"generationConfig": {"stopSequences": "END"}}, "generation_config.stop_sequences"),
        ({"contents": [{"role": {}, "parts": [{"text": "hi"}]}]}, "contents[0].role"),
        ({"contents": [{"role": "user", "parts": [{"text": 5}]}]}, "contents[0].parts[0].text"),
    ],
)
def test_invalid_fields_get_googles_400(stack: Stack, body: dict[str, Any], field: str) -> None:
    request = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}], **body}
    response = _post(stack, stack.create_key(), "gemini-2.5-flash", request)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT" and field in error["message"]
    assert stack.upstream_requests(":generateContent") == []


def _urlsafe(standard: str) -> str:
    return standard.replace("+", "-").replace("/", "_").rstrip("=")


def test_urlsafe_bytes_fields_go_upstream_as_standard_base64(stack: Stack) -> None:
    key = stack.create_key()
    parts, _ = _first_turn(False, stack, key, "gemini-3-flash")
    signed = next(part for part in parts if "functionCall" in part)
    original = signed["thoughtSignature"]
    signed["thoughtSignature"] = _urlsafe(original)
    image = base64.b64encode(bytes(range(256)) * 3).decode()  # holds '+' and '/'
    assert "+" in image and "/" in image
    body = {
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"text": "Weather in Paris?"},
                    {"inlineData": {"mimeType": "image/png", "data": _urlsafe(image)}},
                ],
            },
            {"role": "model", "parts": parts},
            {
                "role": "user",
                "parts": [
                    {
                        "functionResponse": {
                            "name": "get_weather",
                            "id": signed["functionCall"].get("id"),
                            "response": {"t": 21},
                        }
                    }
                ],
            },
        ],
        "tools": [WEATHER_TOOL],
    }
    response = _post(stack, key, "gemini-3-flash", body)
    assert response.status_code == 200, response.text
    sent = stack.upstream_requests(":generateContent")[-1]["body"]["request"]["contents"]
    assert sent[0]["parts"][1]["inlineData"]["data"] == image
    sent_call = next(p for p in sent[1]["parts"] if "functionCall" in p)
    assert sent_call["thoughtSignature"] == original
