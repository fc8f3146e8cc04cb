"""Cloud Code emulator: answers, stream shape, tool calls, code execution, search and images."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from switchyard.emulators.cloudcode import create_app
from tests.emulators.test_cloudcode_support import (
    CloudCode,
    ask,
    parts_of,
    served,
    sse_events,
    user,
    weather_tool,
)
from tests.servers import serve

THOUGHTS = {"thinkingConfig": {"includeThoughts": True}}
CLAUDE_THINKING = {
    "maxOutputTokens": 8000,
    "thinkingConfig": {"includeThoughts": True, "thinkingBudget": 2048},
}


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve(create_app()) as base:
        yield base


@pytest.fixture
def cc(server: str) -> Iterator[CloudCode]:
    yield from served(server)


def text_of(parts: list[dict[str, Any]], *, thought: bool = False) -> str:
    return "".join(p.get("text", "") for p in parts if bool(p.get("thought")) == thought)


def stream(cc: CloudCode, model: str, request: dict[str, Any]) -> list[dict[str, Any]]:
    response = cc.generate(model, request, stream=True)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    assert "[DONE]" not in response.text
    return sse_events(response.text)


def assert_usage_consistent(usage: dict[str, Any]) -> None:
    expected = usage["promptTokenCount"] + usage["candidatesTokenCount"] + usage.get("thoughtsTokenCount", 0)
    assert usage["totalTokenCount"] == expected


# --- plain answers ---------------------------------------------------------------------------------


def test_non_stream_answer_shape(cc: CloudCode) -> None:
    response = cc.generate("gemini-3-flash", ask("What model are you?"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=UTF-8"
    body = response.json()
    assert re.fullmatch(r"[0-9a-f]{16}", body["traceId"])
    assert response.headers["x-cloudaicompanion-trace-id"] == body["traceId"]
    inner = body["response"]
    candidate = inner["candidates"][0]
    assert candidate["content"]["role"] == "model"
    assert text_of(candidate["content"]["parts"]) == "Echo (gemini-3-flash): What model are you?"
    assert candidate["finishReason"] == "STOP"
    assert inner["modelVersion"] == "gemini-3-flash"
    assert len(inner["responseId"]) == 22 and inner["createTime"].endswith("Z")
    assert_usage_consistent(inner["usageMetadata"])


def test_answers_are_deterministic_and_quote_the_prompt(cc: CloudCode) -> None:
    first = cc.generate("gemini-pro-agent", ask("alpha " * 60, generationConfig=THOUGHTS)).json()
    again = cc.generate("gemini-pro-agent", ask("alpha " * 60, generationConfig=THOUGHTS)).json()
    other = cc.generate("gemini-pro-agent", ask("beta", generationConfig=THOUGHTS)).json()
    assert parts_of(first) == parts_of(again) != parts_of(other)
    assert text_of(parts_of(first)) == "Echo (gemini-pro-agent): " + ("alpha " * 60)[:200]


def test_claude_response_ids(cc: CloudCode) -> None:
    inner = cc.generate("claude-sonnet-4-6", ask("hi")).json()["response"]
    assert inner["responseId"].startswith("msg_vrtx_")


def test_count_tokens_matches_the_billed_prompt(cc: CloudCode) -> None:
    request = ask("count these words please", systemInstruction={"parts": [{"text": "be brief"}]})
    counted = cc.call("countTokens", {"request": request}).json()["totalTokens"]
    usage = cc.generate("gemini-3-flash", request).json()["response"]["usageMetadata"]
    assert usage["promptTokenCount"] == counted > 0


# --- streams ---------------------------------------------------------------------------------------


def test_stream_shape_with_thoughts(cc: CloudCode) -> None:
    cc.control("settings", {"split_usage": False})
    events = stream(cc, "gemini-2.5-pro", ask("Tell me something", generationConfig=THOUGHTS))
    assert len(events) >= 4
    assert len({event["traceId"] for event in events}) == 1
    assert len({event["response"]["responseId"] for event in events}) == 1
    assert "createTime" in events[0]["response"]
    assert all("createTime" not in event["response"] for event in events[1:])
    kinds = [bool(part.get("thought")) for event in events for part in parts_of(event)]
    assert kinds[0] is True and kinds[-1] is False and kinds == sorted(kinds, reverse=True)
    finishes = [c.get("finishReason") for e in events for c in e["response"].get("candidates", [])]
    assert finishes[-1] == "STOP" and not any(finishes[:-1])
    last_usage = events[-1]["response"]["usageMetadata"]
    assert last_usage["thoughtsTokenCount"] > 0 and last_usage["candidatesTokenCount"] > 0
    assert_usage_consistent(last_usage)
    joined = text_of([part for event in events for part in parts_of(event)])
    assert joined == "Echo (gemini-2.5-pro): Tell me something"


def test_no_thoughts_without_include_thoughts(cc: CloudCode) -> None:
    events = stream(cc, "gemini-2.5-pro", ask("quiet"))
    assert not any(part.get("thought") for event in events for part in parts_of(event))
    usage = cc.generate("gemini-2.5-pro", ask("quiet")).json()["response"]["usageMetadata"]
    assert usage["thoughtsTokenCount"] > 0


def test_stream_with_split_usage(cc: CloudCode) -> None:
    cc.control("settings", {"split_usage": True})
    events = stream(cc, "gemini-3-flash", ask("split"))
    stop_event, usage_event = events[-2]["response"], events[-1]["response"]
    assert stop_event["candidates"][0]["finishReason"] == "STOP"
    assert "usageMetadata" not in stop_event
    assert "candidates" not in usage_event
    assert_usage_consistent(usage_event["usageMetadata"])
    assert events[-1]["traceId"] == events[0]["traceId"]


def test_stream_and_non_stream_agree(cc: CloudCode) -> None:
    request = ask("agree", generationConfig=THOUGHTS)
    events = stream(cc, "gemini-3-flash", request)
    streamed = [part for event in events for part in parts_of(event)]
    single = parts_of(cc.generate("gemini-3-flash", request).json())
    assert text_of(streamed) == text_of(single) and text_of(streamed, thought=True) == text_of(
        single, thought=True
    )


def test_claude_thinking_stream_ends_thoughts_with_a_signature_part(cc: CloudCode) -> None:
    events = stream(cc, "claude-opus-4-6-thinking", ask("think", generationConfig=CLAUDE_THINKING))
    parts = [part for event in events for part in parts_of(event)]
    thoughts = [part for part in parts if part.get("thought")]
    assert thoughts[-1]["text"] == "" and thoughts[-1]["thoughtSignature"]
    assert all("thoughtSignature" not in part for part in thoughts[:-1])


def test_benchmark_stream_shape(cc: CloudCode) -> None:
    cc.control("settings", {"events_per_stream": 12, "bytes_per_event": 100})
    events = stream(cc, "gemini-3-flash", ask("bench"))
    assert len(events) == 12
    assert all(len(text_of(parts_of(event))) == 100 for event in events)
    assert events[-1]["response"]["candidates"][0]["finishReason"] == "STOP"
    assert_usage_consistent(events[-1]["response"]["usageMetadata"])


# --- tools -----------------------------------------------------------------------------------------


def function_calls(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [part for part in parts_of(payload) if "functionCall" in part]


def test_function_call_args_follow_the_schema(cc: CloudCode) -> None:
    body = cc.generate("gemini-3-flash", ask("weather in Paris?", tools=weather_tool())).json()
    calls = function_calls(body)
    assert len(calls) == 1
    call = calls[0]["functionCall"]
    assert call["name"] == "get_weather"
    assert set(call["args"]) == {"city", "unit", "days"}
    assert call["args"]["unit"] == "celsius" and isinstance(call["args"]["days"], int)
    assert isinstance(call["args"]["city"], str) and call["id"]
    assert body["response"]["candidates"][0]["finishReason"] == "STOP"
    again = cc.generate("gemini-3-flash", ask("weather in Paris?", tools=weather_tool())).json()
    assert function_calls(again) == calls


def test_parallel_calls(cc: CloudCode) -> None:
    events = stream(cc, "gemini-pro-agent", ask("check two cities in parallel", tools=weather_tool()))
    calls = [part for event in events for part in parts_of(event) if "functionCall" in part]
    assert len(calls) == 2
    assert calls[0]["functionCall"]["id"] != calls[1]["functionCall"]["id"]
    assert "thoughtSignature" in calls[0] and "thoughtSignature" not in calls[1]


def test_claude_tool_calls(cc: CloudCode) -> None:
    body = cc.generate("claude-sonnet-4-6", ask("weather?", tools=weather_tool())).json()
    call = function_calls(body)[0]
    assert re.fullmatch(r"toolu_vrtx_01[0-9a-f]{22}", call["functionCall"]["id"])
    assert body["response"]["candidates"][0]["finishReason"] == "OTHER"


def test_tool_config_none_means_no_call(cc: CloudCode) -> None:
    request = ask("weather?", tools=weather_tool(), toolConfig={"functionCallingConfig": {"mode": "NONE"}})
    assert function_calls(cc.generate("gemini-3-flash", request).json()) == []


def test_answer_after_function_responses_quotes_them(cc: CloudCode) -> None:
    call = {"name": "get_weather", "args": {"city": "Paris"}, "id": "toolu_a"}
    result = {"name": "get_weather", "id": "toolu_a", "response": {"result": {"temp": 21}}}
    request = {
        "contents": [
            user("weather?"),
            {"role": "model", "parts": [{"functionCall": call}]},
            {"role": "user", "parts": [{"functionResponse": result}]},
        ],
        "tools": weather_tool(),
    }
    body = cc.generate("claude-sonnet-4-6", request).json()
    assert function_calls(body) == []
    assert '{"result": {"temp": 21}}' in text_of(parts_of(body))


def test_code_execution(cc: CloudCode) -> None:
    parts = parts_of(cc.generate("gemini-3-flash", ask("sum 1..10", tools=[{"codeExecution": {}}])).json())
    assert parts[0]["executableCode"]["language"] == "PYTHON"
    assert parts[1]["codeExecutionResult"]["outcome"] == "OUTCOME_OK"
    assert parts[2]["text"].startswith("Echo (gemini-3-flash)")


def test_google_search_grounding(cc: CloudCode) -> None:
    body = cc.generate("gemini-3-flash", ask("news today", tools=[{"googleSearch": {}}])).json()
    grounding = body["response"]["candidates"][0]["groundingMetadata"]
    assert grounding["webSearchQueries"] == ["news today"]
    assert grounding["groundingChunks"][0]["web"]["uri"].startswith(
        "https://vertexaisearch.cloud.google.com/"
    )


# --- images ----------------------------------------------------------------------------------------


def image_request(prompt: str, **image_config: str) -> dict[str, Any]:
    config: dict[str, Any] = {"responseModalities": ["TEXT", "IMAGE"]}
    if image_config:
        config["imageConfig"] = image_config
    return {"contents": [user(prompt)], "generationConfig": config}


def decoded_image(payload: dict[str, Any]) -> tuple[Image.Image, dict[str, Any]]:
    part = next(part for part in parts_of(payload) if "inlineData" in part)
    image = Image.open(io.BytesIO(base64.b64decode(part["inlineData"]["data"])))
    return image, part


def test_4k_16_9_image(cc: CloudCode) -> None:
    body = cc.envelope(
        "gemini-3.1-flash-image", image_request("a kitten", aspectRatio="16:9", imageSize="4K")
    )
    body["requestType"] = "image_gen"
    response = cc.call("generateContent", body)
    assert response.status_code == 200
    image, part = decoded_image(response.json())
    assert image.size == (5504, 3072) and image.format == "JPEG"
    assert part["inlineData"]["mimeType"] == "image/jpeg" and part["thoughtSignature"]
    usage = response.json()["response"]["usageMetadata"]
    assert {"modality": "IMAGE", "tokenCount": 2000} in usage["candidatesTokensDetails"]
    assert_usage_consistent(usage)


@pytest.mark.parametrize(
    ("config", "size"),
    [
        ({}, (1024, 1024)),
        ({"aspectRatio": "9:16"}, (768, 1376)),
        ({"aspectRatio": "21:9", "imageSize": "2K"}, (3168, 1344)),
    ],
)
def test_image_sizes(cc: CloudCode, config: dict[str, str], size: tuple[int, int]) -> None:
    image, _ = decoded_image(cc.generate("gemini-3.1-flash-image", image_request("a tree", **config)).json())
    assert image.size == size


def test_image_to_image_mirrors_the_input(cc: CloudCode) -> None:
    source = Image.new("RGB", (64, 64), (255, 0, 0))
    source.paste((0, 0, 255), (32, 0, 64, 64))  # red on the left, blue on the right
    buffer = io.BytesIO()
    source.save(buffer, "PNG")
    inline = {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(buffer.getvalue()).decode()}}
    request = image_request("mirror it")
    request["contents"][0]["parts"].append(inline)
    image, _ = decoded_image(cc.generate("gemini-3.1-flash-image", request).json())
    rgb = image.convert("RGB")
    left, right = rgb.getpixel((10, 512)), rgb.getpixel((1013, 512))
    assert isinstance(left, tuple) and isinstance(right, tuple)
    assert left[2] > 200 > left[0] and right[0] > 200 > right[2]


def test_image_streams_text_then_the_image(cc: CloudCode) -> None:
    events = stream(cc, "gemini-3.1-flash-image", image_request("a boat"))
    parts = [part for event in events for part in parts_of(event)]
    assert "text" in parts[0] and "inlineData" in parts[-1]
    assert events[-1]["response"]["candidates"][0]["finishReason"] == "STOP"


# --- scripted replies ------------------------------------------------------------------------------


def test_scripted_replies_in_order_in_the_models_own_format(cc: CloudCode) -> None:
    call = {"name": "get_weather", "args": {"city": "Paris"}}
    cc.control(
        "script",
        {
            "match": {"model": "claude-sonnet-4-6"},
            "replies": [{"function_call": call}, {"text": "Sunny in Paris."}],
        },
    )
    other = parts_of(cc.generate("gemini-3-flash", ask("hi")).json())
    assert text_of(other) == "Echo (gemini-3-flash): hi"
    first = cc.generate("claude-sonnet-4-6", ask("weather?", tools=weather_tool())).json()
    calls = [p["functionCall"] for p in parts_of(first)]
    assert [(c["name"], c["args"]) for c in calls] == [("get_weather", {"city": "Paris"})]
    assert calls[0]["id"].startswith("toolu_vrtx_01")
    assert first["response"]["candidates"][0]["finishReason"] == "OTHER"
    events = stream(cc, "claude-sonnet-4-6", ask("and now?"))
    assert "".join(p.get("text", "") for e in events for p in parts_of(e)) == "Sunny in Paris."
    assert cc.control("script") == []
    assert (
        text_of(parts_of(cc.generate("claude-sonnet-4-6", ask("hi")).json()))
        == "Echo (claude-sonnet-4-6): hi"
    )


def test_scripted_gemini_call_is_signed(cc: CloudCode) -> None:
    cc.control("script", {"replies": [{"function_call": {"name": "lookup", "args": {}}}]})
    parts = parts_of(cc.generate("gemini-3.8-flash-high", ask("hi")).json())
    assert parts[0]["functionCall"]["name"] == "lookup" and parts[0]["thoughtSignature"]


def test_script_rejects_malformed_replies(cc: CloudCode) -> None:
    assert cc.http.post("/_control/script", json={"replies": [{"image": "x"}]}).status_code == 400
    assert cc.http.post("/_control/script", json={"replies": []}).status_code == 400
