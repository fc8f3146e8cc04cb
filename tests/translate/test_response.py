"""Canonical Gemini response events → OpenAI chat: streaming and non-streaming share every case."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from switchyard.errors import StreamInterrupted
from switchyard.translate import OpenAIChatStream, SignatureCache
from tests.translate.profiles import CLAUDE_THINKING, GEMINI_3_PRO, GEMINI_25_FLASH

MODES = ("stream", "non-stream")


def event(
    *parts: dict[str, Any], finish: str | None = None, usage: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": list(parts)}}
    if finish:
        candidate["finishReason"] = finish
    out: dict[str, Any] = {
        "candidates": [candidate],
        "responseId": "resp1",
        "modelVersion": "gemini-2.5-flash",
        **extra,
    }
    if usage is not None:
        out["usageMetadata"] = usage
    return out


USAGE = {"promptTokenCount": 10, "candidatesTokenCount": 17, "thoughtsTokenCount": 20, "totalTokenCount": 47}
EXPECTED_USAGE = {
    "prompt_tokens": 10,
    "completion_tokens": 37,
    "total_tokens": 47,
    "prompt_tokens_details": {"cached_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 20},
}


def parse_frames(frames: list[bytes]) -> list[Any]:
    out = []
    for frame in frames:
        assert frame.startswith(b"data: ") and frame.endswith(b"\n\n"), frame
        payload = frame[6:-2]
        out.append("[DONE]" if payload == b"[DONE]" else orjson.loads(payload))
    return out


def run(
    mode: str,
    events: list[dict[str, Any]],
    body: dict[str, Any] | None = None,
    model: Any = GEMINI_25_FLASH,
    signatures: SignatureCache | None = None,
) -> dict[str, Any]:
    """The answer as one message-like dict, whichever the mode, plus mode-specific checks."""
    body = {"model": "my-model", "messages": [], **(body or {})}
    if mode == "stream":
        body.setdefault("stream_options", {"include_usage": True})
    state = OpenAIChatStream.for_request(body, model=model, signatures=signatures)
    if mode == "non-stream":
        completion = state.build_completion(events)
        assert completion["object"] == "chat.completion"
        choice = completion["choices"][0]
        return {
            **choice["message"],
            "finish_reason": choice["finish_reason"],
            "usage": completion["usage"],
            "id": completion["id"],
            "created": completion["created"],
            "model": completion["model"],
        }
    frames: list[bytes] = []
    for item in events:
        frames.extend(state.feed(item))
    frames.extend(state.finish())
    chunks = parse_frames(frames)
    assert chunks[-1] == "[DONE]"
    chunks = chunks[:-1]
    usage_chunk = chunks.pop() if chunks and chunks[-1]["choices"] == [] else None
    message: dict[str, Any] = {"role": None, "content": None}
    content: list[str] = []
    reasoning: list[str] = []
    for chunk in chunks:
        assert chunk["object"] == "chat.completion.chunk"
        assert {chunk["id"], chunk["model"], chunk["created"]} == {
            chunks[0]["id"],
            chunks[0]["model"],
            chunks[0]["created"],
        }
        delta = chunk["choices"][0]["delta"]
        message["role"] = message["role"] or delta.get("role")
        content.append(delta.get("content") or "")
        reasoning.append(delta.get("reasoning_content") or "")
        for call in delta.get("tool_calls", ()):
            message.setdefault("tool_calls", []).append(call)
        for image in delta.get("images", ()):
            message.setdefault("images", []).append(image)
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])
    if "".join(content) or "tool_calls" not in message:
        message["content"] = "".join(content)
    if "".join(reasoning):
        message["reasoning_content"] = "".join(reasoning)
    message["finish_reason"] = chunks[-1]["choices"][0]["finish_reason"]
    message["usage"] = usage_chunk["usage"] if usage_chunk else None
    message.update(id=chunks[0]["id"], created=chunks[0]["created"], model=chunks[0]["model"])
    return message


@pytest.mark.parametrize("mode", MODES)
def test_text_with_thoughts_and_usage(mode: str) -> None:
    events = [
        event({"text": "Let me think", "thought": True}, createTime="2026-01-10T01:55:33.450396123Z"),
        event({"text": "Hel"}),
        event({"text": "lo"}, finish="STOP", usage=USAGE),
    ]
    answer = run(mode, events)
    assert answer == {
        "role": "assistant",
        "content": "Hello",
        "reasoning_content": "Let me think",
        "finish_reason": "stop",
        "usage": EXPECTED_USAGE,
        "id": "chatcmpl-resp1",
        "created": 1768010133,
        "model": "my-model",
    }


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("reason", "finish_reason"),
    [
        ("STOP", "stop"),
        ("OTHER", "stop"),
        ("MAX_TOKENS", "length"),
        ("SAFETY", "content_filter"),
        ("RECITATION", "content_filter"),
        ("BLOCKLIST", "content_filter"),
        ("PROHIBITED_CONTENT", "content_filter"),
        ("SPII", "content_filter"),
    ],
)
def test_finish_reasons(mode: str, reason: str, finish_reason: str) -> None:
    answer = run(mode, [event({"text": "x"}, finish=reason)])
    assert answer["finish_reason"] == finish_reason


@pytest.mark.parametrize("mode", MODES)
def test_tool_calls_with_restored_names_and_generated_ids(mode: str) -> None:
    body = {"tools": [{"type": "function", "function": {"name": "7day-weather"}}]}
    events = [
        event({"text": "Checking."}),
        event(
            {"functionCall": {"name": "_7day-weather", "args": {"city": "Paris"}, "id": "up_1"}},
            {"functionCall": {"name": "other", "args": {}}},
            finish="STOP",
            usage=USAGE,
        ),
    ]
    answer = run(mode, events, body)
    assert answer["finish_reason"] == "tool_calls"
    assert answer["content"] == "Checking."
    first, second = answer["tool_calls"]
    assert first == {
        **({"index": 0} if mode == "stream" else {}),  # message.tool_calls carry no index
        "id": "up_1",
        "type": "function",
        "function": {"name": "7day-weather", "arguments": '{"city":"Paris"}'},
    }
    assert (
        second.get("index", 1) == 1
        and second["id"].startswith("call_")
        and second["function"] == {"name": "other", "arguments": "{}"}
    )


@pytest.mark.parametrize("mode", MODES)
def test_tool_call_only_answer_has_null_content(mode: str) -> None:
    answer = run(mode, [event({"functionCall": {"name": "f", "args": {}, "id": "x"}}, finish="STOP")])
    assert answer["content"] is None
    assert answer["finish_reason"] == "tool_calls"


@pytest.mark.parametrize("mode", MODES)
def test_code_execution_and_images(mode: str) -> None:
    events = [
        event({"executableCode": {"language": "PYTHON", "code": "print(1)"}}),
        event({"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "1\n"}}),
        event(
            {"inlineData": {"mimeType": "image/png", "data": "QUJD"}, "thought": True}
        ),  # a draft: not output
        event(
            {"inlineData": {"mimeType": "image/jpeg", "data": "SkZJRg=="}, "thoughtSignature": "sig"},
            finish="STOP",
        ),
    ]
    answer = run(mode, events)
    assert answer["content"] == (
        "\n```python\nprint(1)\n```\n\n```output\n1\n\n```\n![image](data:image/jpeg;base64,SkZJRg==)"
    )
    assert answer["images"] == [
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,SkZJRg=="}, "index": 0}
    ]


@pytest.mark.parametrize("mode", MODES)
def test_usage_only_trailing_event_and_cached_tokens(mode: str) -> None:
    events = [
        event({"text": "ok"}, finish="STOP"),
        {
            "usageMetadata": {
                "promptTokenCount": 100,
                "candidatesTokenCount": 2,
                "totalTokenCount": 102,
                "cachedContentTokenCount": 60,
            }
        },
    ]
    answer = run(mode, events)
    assert answer["usage"] == {
        "prompt_tokens": 100,
        "completion_tokens": 2,
        "total_tokens": 102,
        "prompt_tokens_details": {"cached_tokens": 60},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


@pytest.mark.parametrize("mode", MODES)
def test_signature_only_parts_are_skipped(mode: str) -> None:
    events = [
        event({"text": "Hi", "thoughtSignature": "abcd"}),
        event({"text": "", "thoughtSignature": "efgh"}, finish="STOP"),
    ]
    assert run(mode, events)["content"] == "Hi"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("events", "message"),
    [
        ([event({"text": "Hel"})], "without a finish reason"),
        ([], "without a finish reason"),
        ([event({"text": "", "thoughtSignature": "s"}, finish="STOP")], "no content"),
        ([event({"text": "hmm", "thought": True}, finish="STOP")], "only thoughts"),
        ([event({"text": "x"}), event(finish="MALFORMED_FUNCTION_CALL")], "MALFORMED_FUNCTION_CALL"),
    ],
)
def test_broken_streams_are_errors_not_stop(mode: str, events: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(StreamInterrupted, match=message):
        run(mode, events)


@pytest.mark.parametrize("mode", MODES)
def test_empty_answer_is_legitimate_when_filtered_or_cut(mode: str) -> None:
    assert run(mode, [event(finish="SAFETY")])["finish_reason"] == "content_filter"
    assert run(mode, [{"promptFeedback": {"blockReason": "SAFETY"}}])["finish_reason"] == "content_filter"
    assert (
        run(mode, [event({"text": "t", "thought": True}, finish="MAX_TOKENS")])["finish_reason"] == "length"
    )


def test_stream_chunk_shape_and_usage_chunk() -> None:
    state = OpenAIChatStream.for_request(
        {"model": "m", "stream_options": {"include_usage": True}}, model=GEMINI_25_FLASH
    )
    first = parse_frames(state.feed(event({"text": "a"}, createTime="2026-01-10T01:55:33Z")))
    assert first == [
        {
            "id": "chatcmpl-resp1",
            "object": "chat.completion.chunk",
            "created": 1768010133,
            "model": "m",
            "system_fingerprint": None,
            "choices": [
                {
                    "index": 0,
                    "delta": {"role": "assistant", "content": "a"},
                    "logprobs": None,
                    "finish_reason": None,
                }
            ],
            "usage": None,
        }
    ]
    assert state.feed({"usageMetadata": {"promptTokenCount": 1}}) == []
    state.feed(event(finish="STOP", usage=USAGE))
    finish, usage, done = parse_frames(state.finish())
    assert finish["choices"][0] == {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}
    assert usage["choices"] == [] and usage["usage"] == EXPECTED_USAGE
    assert done == "[DONE]"


def test_stream_without_include_usage_has_no_usage_fields() -> None:
    state = OpenAIChatStream.for_request({"model": "m"}, model=GEMINI_25_FLASH)
    chunks = parse_frames(state.feed(event({"text": "a"}, finish="STOP")) + state.finish())
    assert chunks[-1] == "[DONE]"
    assert all("usage" not in chunk for chunk in chunks[:-1])


def test_claude_placeholder_arguments_are_removed() -> None:
    body = {
        "tools": [
            {"type": "function", "function": {"name": "noargs"}},
            {
                "type": "function",
                "function": {
                    "name": "f",
                    "parameters": {"type": "object", "properties": {"x": {"type": "string"}}},
                },
            },
        ]
    }
    events = [
        event(
            {"functionCall": {"name": "noargs", "args": {"reason": "because"}, "id": "toolu_1"}},
            {"functionCall": {"name": "f", "args": {"x": "1", "_": True}, "id": "toolu_2"}},
            finish="OTHER",
        )
    ]
    answer = run("non-stream", events, body, model=CLAUDE_THINKING)
    assert [c["function"]["arguments"] for c in answer["tool_calls"]] == ["{}", '{"x":"1"}']


def test_model_falls_back_to_profile_id() -> None:
    state = OpenAIChatStream.for_request({}, model=GEMINI_3_PRO)
    assert state.build_completion([event({"text": "x"}, finish="STOP")])["model"] == "gemini-3-pro-high"
