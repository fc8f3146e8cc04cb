"""Anthropic Messages ↔ canonical Gemini: pure translator tests on JSON in and out.

Response direction: every case runs in both modes through one parametrised test; the stream's
events are folded back into a message here (by this test's own code, following Anthropic's
streaming docs) and must equal what the non-streaming translator builds.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from switchyard.errors import InvalidRequest, StreamInterrupted
from switchyard.translate.anthropic_gemini import media_urls_of, to_gemini_request_from_anthropic
from switchyard.translate.gemini_anthropic import AnthropicMessageStream
from switchyard.translate.media import Media
from switchyard.translate.profile import ModelProfile
from switchyard.translate.signatures import SKIP_SIGNATURE, SignatureCache, tag_signature

CLAUDE = ModelProfile(
    id="claude-sonnet-4-6",
    family="claude",
    thinking=True,
    thinking_budget=(1024, 64000),
    max_output_tokens=64000,
)
GEMINI3 = ModelProfile(
    id="gemini-3-flash",
    family="gemini-3",
    thinking=True,
    thinking_levels=("minimal", "low", "medium", "high"),
)
FLASH25 = ModelProfile(id="gemini-2.5-flash", family="gemini-2.5", thinking_budget=(0, 24576))
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
PDF = "JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSPj4Kc3RyZWFtCg=="


def _body(**extra: Any) -> dict[str, Any]:
    return {"model": "m", "max_tokens": 4096, "messages": [{"role": "user", "content": "hi"}], **extra}


# -- request direction ----------------------------------------------------------------------------


def test_system_blocks_text_image_document_and_ignored_fields() -> None:
    body = _body(
        system=[{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        metadata={"user_id": "u1"},
        context_management={"edits": []},
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Look", "cache_control": {"type": "ephemeral"}},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                    {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}},
                    {
                        "type": "document",
                        "source": {"type": "base64", "media_type": "application/pdf", "data": PDF},
                    },
                    {
                        "type": "document",
                        "source": {"type": "text", "media_type": "text/plain", "data": "notes"},
                    },
                ],
            }
        ],
    )
    assert media_urls_of(body) == ["https://example.com/a.png"]
    fetched = {"https://example.com/a.png": Media("image/png", PNG)}
    request = to_gemini_request_from_anthropic(body, model=FLASH25, resolved_media=fetched)
    assert request["systemInstruction"] == {"role": "user", "parts": [{"text": "Be brief."}]}
    assert request["contents"] == [
        {
            "role": "user",
            "parts": [
                {"text": "Look"},
                {"inlineData": {"mimeType": "image/png", "data": PNG}},
                {"inlineData": {"mimeType": "image/png", "data": PNG}},
                {"inlineData": {"mimeType": "application/pdf", "data": PDF}},
                {"text": "notes"},
            ],
        }
    ]
    assert request["generationConfig"]["maxOutputTokens"] == 4096


def test_claude_tool_loop_replays_signed_thinking_exactly_and_drops_unsigned_and_foreign() -> None:
    body = _body(
        messages=[
            {"role": "user", "content": "weather?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "old", "signature": ""},
                    {
                        "type": "thinking",
                        "thinking": "foreign",
                        "signature": tag_signature("gemini-3", "Zm9v"),
                    },
                    {"type": "redacted_thinking", "data": "opaque"},
                    {"type": "thinking", "thinking": "I should call it", "signature": "CLAUDE-SIG=="},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "content": [{"type": "text", "text": "18 C"}],
                    },
                    {"type": "text", "text": "thanks"},
                ],
            },
        ],
        tools=[
            {
                "name": "get_weather",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
            {"type": "web_search_20250305", "name": "web_search"},
            {"name": "lazy", "defer_loading": True},
        ],
        tool_choice={"type": "any"},
        thinking={"type": "enabled", "budget_tokens": 2048},
        temperature=1,
        top_k=5,
        stop_sequences=["END"],
    )
    request = to_gemini_request_from_anthropic(body, model=CLAUDE)
    model_turn = request["contents"][1]
    assert model_turn["parts"] == [
        {"text": "I should call it", "thought": True, "thoughtSignature": "CLAUDE-SIG=="},
        {"functionCall": {"id": "toolu_1", "name": "get_weather", "args": {"city": "Paris"}}},
    ]
    assert request["contents"][2]["parts"][0] == {
        "functionResponse": {"id": "toolu_1", "name": "get_weather", "response": {"result": "18 C"}}
    }
    assert [d["name"] for d in request["tools"][0]["functionDeclarations"]] == ["get_weather"]
    assert request["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}
    config = request["generationConfig"]
    assert config["thinkingConfig"] == {"includeThoughts": True, "thinkingBudget": 2048}
    assert config["stopSequences"] == ["END"] and config["topK"] == 5 and config["temperature"] == 1


def test_gemini3_replay_uses_signature_carried_in_the_id_else_the_sentinel() -> None:
    def replay(call_id: str) -> dict[str, Any]:
        body = _body(
            messages=[
                {"role": "user", "content": "go"},
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "id": call_id, "name": "f", "input": {}}],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": call_id, "content": "x", "is_error": True}
                    ],
                },
            ],
            tools=[{"name": "f", "input_schema": {"type": "object"}}],
        )
        return to_gemini_request_from_anthropic(body, model=GEMINI3, signatures=SignatureCache())

    stream = AnthropicMessageStream(model="gemini-3-flash", family="gemini-3")
    events = [
        _event(
            [{"functionCall": {"id": "fc_1", "name": "f", "args": {}}, "thoughtSignature": "c2lnbmVk"}],
            "STOP",
        )
    ]
    carried_id = stream.build_message(events)["content"][0]["id"]
    assert carried_id != "fc_1"
    request = replay(carried_id)
    assert request["contents"][1]["parts"][0]["thoughtSignature"] == "c2lnbmVk"
    assert request["contents"][1]["parts"][0]["functionCall"]["id"] == "fc_1"
    assert request["contents"][2]["parts"][0]["functionResponse"]["response"] == {"error": "x"}
    assert replay("plain")["contents"][1]["parts"][0]["thoughtSignature"] == SKIP_SIGNATURE


@pytest.mark.parametrize(
    ("thinking", "effort", "model", "expected"),
    [
        ({"type": "disabled"}, None, FLASH25, {"includeThoughts": False, "thinkingBudget": 0}),
        ({"type": "disabled"}, None, CLAUDE, None),
        (
            {"type": "enabled", "budget_tokens": 100000},
            None,
            CLAUDE,
            {"includeThoughts": True, "thinkingBudget": 4095},
        ),
        ({"type": "adaptive"}, "high", GEMINI3, {"includeThoughts": True, "thinkingLevel": "high"}),
        (None, "low", FLASH25, {"includeThoughts": True, "thinkingBudget": 1024}),
    ],
)
def test_thinking_and_effort(thinking: Any, effort: Any, model: ModelProfile, expected: Any) -> None:
    extra: dict[str, Any] = {}
    if thinking is not None:
        extra["thinking"] = thinking
    if effort is not None:
        extra["output_config"] = {"effort": effort}
    config = to_gemini_request_from_anthropic(_body(**extra), model=model).get("generationConfig", {})
    assert config.get("thinkingConfig") == expected


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"messages": [{"role": "system", "content": "x"}]}, "messages[0].role"),
        (
            {"messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "nope"}]}]},
            "messages[0].content[0].tool_use_id",
        ),
        (
            {
                "tool_choice": {"type": "tool", "name": "missing"},
                "tools": [{"name": "f", "input_schema": {}}],
            },
            "tool_choice",
        ),
        ({"thinking": {"type": "sometimes"}}, "thinking.type"),
        ({"output_config": {"effort": "extreme"}}, "output_config.effort"),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}],
                    }
                ]
            },
            "messages[0].content[0].source.url",
        ),
    ],
)
def test_invalid_requests_name_the_field(change: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        to_gemini_request_from_anthropic(_body(**change), model=GEMINI3)
    assert caught.value.param == param


# -- response direction ---------------------------------------------------------------------------


def _event(
    parts: list[dict[str, Any]], finish: str | None = None, usage: dict[str, Any] | None = None
) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}}
    if finish:
        candidate["finishReason"] = finish
    event: dict[str, Any] = {"candidates": [candidate]}
    if usage:
        event["usageMetadata"] = usage
    return event


def _fold_sse(frames: list[bytes]) -> tuple[list[str], dict[str, Any]]:
    """(the event names in order, the message the events describe)."""
    names: list[str] = []
    message: dict[str, Any] = {}
    partial: dict[int, str] = {}
    for frame in b"".join(frames).decode().split("\n\n"):
        if not frame:
            continue
        name_line, data_line = frame.split("\n")
        name, data = name_line.removeprefix("event: "), orjson.loads(data_line.removeprefix("data: "))
        assert data["type"] == name
        names.append(name)
        if name == "message_start":
            message = data["message"]
        elif name == "content_block_start":
            assert data["index"] == len(message["content"])
            message["content"].append(data["content_block"])
        elif name == "content_block_delta":
            block, delta = message["content"][data["index"]], data["delta"]
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            elif delta["type"] == "thinking_delta":
                block["thinking"] += delta["thinking"]
            elif delta["type"] == "signature_delta":
                block["signature"] += delta["signature"]
            else:
                partial[data["index"]] = partial.get(data["index"], "") + delta["partial_json"]
        elif name == "content_block_stop" and data["index"] in partial:
            message["content"][data["index"]]["input"] = orjson.loads(partial[data["index"]])
        elif name == "message_delta":
            message.update(data["delta"])
            message["usage"].update(data["usage"])
    return names, message


USAGE = {"promptTokenCount": 7, "candidatesTokenCount": 5, "thoughtsTokenCount": 3, "totalTokenCount": 15}
CASES: dict[str, tuple[str, list[dict[str, Any]], list[dict[str, Any]], str]] = {
    "claude thinking, signature in a trailing part, then a call": (
        "claude",
        [
            _event([{"text": "Let me ", "thought": True}]),
            _event(
                [
                    {"text": "check", "thought": True},
                    {"text": "", "thought": True, "thoughtSignature": "SIG=="},
                ]
            ),
            _event(
                [{"functionCall": {"id": "toolu_9", "name": "get_weather", "args": {"city": "Rome"}}}],
                "OTHER",
                USAGE,
            ),
        ],
        [
            {"type": "thinking", "thinking": "Let me check", "signature": "SIG=="},
            {"type": "tool_use", "id": "toolu_9", "name": "get_weather", "input": {"city": "Rome"}},
        ],
        "tool_use",
    ),
    "gemini text": (
        "gemini-3",
        [_event([{"text": "Hel"}], usage={"promptTokenCount": 7}), _event([{"text": "lo"}], "STOP", USAGE)],
        [{"type": "text", "text": "Hello"}],
        "end_turn",
    ),
    "stop sequence split across events": (
        "gemini-3",
        [
            _event([{"text": "one two EN"}]),
            _event([{"text": "D three"}]),
            _event([{"text": "four"}], "STOP", USAGE),
        ],
        [{"type": "text", "text": "one two "}],
        "stop_sequence",
    ),
    "a held-back tail that was no stop sequence": (
        "gemini-3",
        [_event([{"text": "the E"}]), _event([{"text": "nd"}], "STOP", USAGE)],
        [{"type": "text", "text": "the End"}],
        "end_turn",
    ),
    "max tokens": (
        "gemini-3",
        [_event([{"text": "cut"}], "MAX_TOKENS", USAGE)],
        [{"type": "text", "text": "cut"}],
        "max_tokens",
    ),
}


@pytest.mark.parametrize("stream", [False, True], ids=["message", "stream"])
@pytest.mark.parametrize("case", list(CASES))
def test_response_both_modes(case: str, stream: bool) -> None:
    family, events, content, stop_reason = CASES[case]
    state = AnthropicMessageStream(model="m", family=family, stop_sequences=("END",))  # type: ignore[arg-type]
    if stream:
        frames = [frame for event in events for frame in state.feed(event)] + state.finish()
        names, message = _fold_sse(frames)
        assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
        start = orjson.loads(frames[0].split(b"data: ", 1)[1])
        first_usage = events[0].get("usageMetadata")
        assert start["message"]["usage"]["input_tokens"] == (first_usage or {}).get("promptTokenCount", 0)
    else:
        message = state.build_message(events)
    assert message["content"] == content
    assert message["stop_reason"] == stop_reason
    assert message["stop_sequence"] == ("END" if stop_reason == "stop_sequence" else None)
    assert message["usage"] == {
        "input_tokens": 7,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": 8,
    }


@pytest.mark.parametrize("stream", [False, True], ids=["message", "stream"])
@pytest.mark.parametrize(
    "events",
    [
        [_event([{"text": "no end"}])],
        [_event([{"text": "only thinking", "thought": True}], "STOP")],
        [_event([], "MALFORMED_FUNCTION_CALL")],
    ],
    ids=["truncated", "thoughts-only", "malformed-call"],
)
def test_broken_answers_are_errors(events: list[dict[str, Any]], stream: bool) -> None:
    state = AnthropicMessageStream(model="m", family="gemini-3")
    with pytest.raises(StreamInterrupted):
        if stream:
            for event in events:
                state.feed(event)
            state.finish()
        else:
            state.build_message(events)


def test_gemini_thinking_signature_is_tagged_and_returns_only_to_its_family() -> None:
    state = AnthropicMessageStream(model="m", family="gemini-3")
    message = state.build_message(
        [_event([{"text": "hmm", "thought": True, "thoughtSignature": "Zm9v"}, {"text": "ok"}], "STOP")]
    )
    thinking = message["content"][0]
    assert thinking["signature"] == tag_signature("gemini-3", "Zm9v")
    history = _body(
        messages=[
            {"role": "user", "content": "a"},
            {"role": "assistant", "content": [thinking, {"type": "text", "text": "ok"}]},
            {"role": "user", "content": "b"},
        ]
    )
    assert to_gemini_request_from_anthropic(history, model=GEMINI3)["contents"][1]["parts"][0] == {
        "text": "hmm",
        "thought": True,
        "thoughtSignature": "Zm9v",
    }
    assert to_gemini_request_from_anthropic(history, model=CLAUDE)["contents"][1]["parts"] == [{"text": "ok"}]
