"""The Responses translators both ways, on JSON in and out (no I/O).

Request side: items, custom and hosted tools, text.format and reasoning map onto the canonical
Gemini request, and reasoning items replay the signatures they carry. Response side: one
parametrised test drives the stream and the non-stream mode through the same events.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from switchyard.errors import InvalidRequest, StreamInterrupted
from switchyard.translate.gemini_responses import ResponsesStream
from switchyard.translate.profile import ModelProfile
from switchyard.translate.reasoning_codec import ReasoningReplay, decode_reasoning, encode_reasoning
from switchyard.translate.responses_gemini import to_chat_body, to_gemini_request_from_responses
from switchyard.translate.signatures import SKIP_SIGNATURE, SignatureCache

GEMINI3 = ModelProfile(id="gemini-3-flash", family="gemini-3", thinking=True)
CLAUDE = ModelProfile(id="claude-sonnet-4-6", family="claude", thinking_budget=(1024, 32000))
PATCH_TOOL = {
    "type": "custom",
    "name": "apply_patch",
    "description": "Apply a patch",
    "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"},
}


def _gemini(body: dict[str, Any], model: ModelProfile = GEMINI3, **kwargs: Any) -> dict[str, Any]:
    return to_gemini_request_from_responses(
        to_chat_body(body, kwargs.pop("history", None)), model=model, **kwargs
    )


def test_instructions_messages_and_parts_become_contents() -> None:
    request = _gemini(
        {
            "model": "m",
            "instructions": "Be brief.",
            "input": [
                {"role": "developer", "content": "Answer in French."},
                {
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "What is this?"},
                        {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo="},
                    ],
                },
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": "Un logo."}],
                },
                {"role": "user", "content": "Merci"},
            ],
            "max_output_tokens": 100,
            "text": {
                "format": {
                    "type": "json_schema",
                    "name": "x",
                    "schema": {"type": "object", "properties": {"a": {"type": "string"}}},
                }
            },
        }
    )
    assert [p["text"] for p in request["systemInstruction"]["parts"]] == ["Be brief.", "Answer in French."]
    roles = [c["role"] for c in request["contents"]]
    assert roles == ["user", "model", "user"]
    assert request["contents"][0]["parts"][1]["inlineData"]["mimeType"] == "image/png"
    config = request["generationConfig"]
    assert config["maxOutputTokens"] == 100 and config["responseMimeType"] == "application/json"
    assert config["responseSchema"]["properties"]["a"]["type"] == "string"


def test_custom_tool_is_a_one_string_function_and_its_call_replays() -> None:
    request = _gemini(
        {
            "model": "m",
            "tools": [PATCH_TOOL],
            "tool_choice": {"type": "custom", "name": "apply_patch"},
            "input": [
                {"role": "user", "content": "patch it"},
                {
                    "type": "custom_tool_call",
                    "call_id": "c1",
                    "name": "apply_patch",
                    "input": "*** Begin Patch",
                },
                {"type": "custom_tool_call_output", "call_id": "c1", "output": "Done"},
            ],
        }
    )
    declaration = request["tools"][0]["functionDeclarations"][0]
    assert declaration["parameters"]["required"] == ["input"]
    assert "start: /.+/" in declaration["parameters"]["properties"]["input"]["description"]
    assert request["toolConfig"]["functionCallingConfig"] == {
        "mode": "ANY",
        "allowedFunctionNames": ["apply_patch"],
    }
    call = request["contents"][1]["parts"][0]
    assert call["functionCall"] == {"id": "c1", "name": "apply_patch", "args": {"input": "*** Begin Patch"}}
    assert request["contents"][2]["parts"][0]["functionResponse"]["response"] == {"result": "Done"}


@pytest.mark.parametrize("tool", ["web_search", "file_search", "code_interpreter", "image_generation", "mcp"])
def test_hosted_tools_are_refused_by_name(tool: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        to_chat_body({"model": "m", "input": "hi", "tools": [{"type": tool}]})
    assert tool in caught.value.message and caught.value.param == "tools[0].type"


def test_reasoning_items_replay_gemini_call_signatures_and_claude_thinking() -> None:
    gemini_blob = encode_reasoning(ReasoningReplay("gemini-3", None, None, {"fc_1": "R2VtaW5pU2ln"}))
    items = [
        {"role": "user", "content": "weather?"},
        {"type": "reasoning", "summary": [], "encrypted_content": gemini_blob},
        {"type": "function_call", "call_id": "fc_1", "name": "get_weather", "arguments": '{"city":"Paris"}'},
        {"type": "function_call_output", "call_id": "fc_1", "output": "sunny"},
    ]
    tools = [
        {
            "type": "function",
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]
    request = _gemini({"model": "m", "input": items, "tools": tools}, signatures=SignatureCache())
    assert request["contents"][1]["parts"][0]["thoughtSignature"] == "R2VtaW5pU2ln"

    claude_blob = encode_reasoning(ReasoningReplay("claude", "Q2xhdWRlU2ln", "I should look it up.", {}))
    items[1]["encrypted_content"] = claude_blob
    request = _gemini({"model": "m", "input": items, "tools": tools}, model=CLAUDE)
    thought = request["contents"][1]["parts"][0]
    assert thought == {"text": "I should look it up.", "thought": True, "thoughtSignature": "Q2xhdWRlU2ln"}
    # Without the reasoning item, Gemini 3 gets the sentinel (never an invented signature).
    del items[1]
    request = _gemini({"model": "m", "input": items, "tools": tools})
    assert request["contents"][1]["parts"][0]["thoughtSignature"] == SKIP_SIGNATURE


def test_foreign_or_corrupted_encrypted_content_is_a_400() -> None:
    with pytest.raises(InvalidRequest):
        decode_reasoning("gAAAAABo-openai-blob", param="input[1].encrypted_content")
    with pytest.raises(InvalidRequest):
        decode_reasoning("sy1.!!!", param="input[1].encrypted_content")


def test_previous_history_comes_before_the_new_input() -> None:
    history = [
        {"type": "message", "role": "user", "content": "first"},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "one"}]},
    ]
    request = _gemini({"model": "m", "input": "second"}, history=history)
    assert [c["parts"][0]["text"] for c in request["contents"]] == ["first", "one", "second"]


# -- response side ---------------------------------------------------------------------------------

SIG = "U2lnbmF0dXJlT2ZUaGVDYWxs"
EVENTS = [
    {
        "candidates": [
            {"content": {"role": "model", "parts": [{"text": "Thinking it over", "thought": True}]}}
        ]
    },
    {
        "candidates": [
            {
                "content": {
                    "role": "model",
                    "parts": [
                        {
                            "functionCall": {"id": "fc_9", "name": "get_weather", "args": {"city": "Rome"}},
                            "thoughtSignature": SIG,
                        },
                        {
                            "functionCall": {
                                "id": "fc_10",
                                "name": "apply_patch",
                                "args": {"input": "*** Begin Patch"},
                            }
                        },
                    ],
                }
            }
        ]
    },
    {
        "candidates": [
            {"content": {"role": "model", "parts": [{"text": "Calling tools."}]}, "finishReason": "STOP"}
        ],
        "usageMetadata": {"promptTokenCount": 7, "candidatesTokenCount": 5, "thoughtsTokenCount": 3},
    },
]


def _state() -> ResponsesStream:
    return ResponsesStream(
        model="gemini-3-flash",
        family="gemini-3",
        custom_tools=frozenset({"apply_patch"}),
        include_encrypted=True,
        summaries=True,
        signatures=SignatureCache(),
    )


@pytest.mark.parametrize("stream", [True, False])
def test_events_become_reasoning_calls_and_message(stream: bool) -> None:
    state = _state()
    if stream:
        frames = state.start() + [f for event in EVENTS for f in state.feed(event)] + state.finish()
        events = [orjson.loads(frame.split(b"data: ", 1)[1]) for frame in frames]
        assert [e["sequence_number"] for e in events] == list(range(len(events)))
        kinds = [e["type"] for e in events]
        assert kinds[:2] == ["response.created", "response.in_progress"]
        for expected in (
            "response.reasoning_summary_text.delta",
            "response.function_call_arguments.done",
            "response.custom_tool_call_input.done",
            "response.output_text.done",
            "response.content_part.done",
        ):
            assert expected in kinds
        response = events[-1]["response"]
        assert events[-1]["type"] == "response.completed"
    else:
        response = state.build_response(EVENTS)
    types = [item["type"] for item in response["output"]]
    assert types == ["reasoning", "function_call", "custom_tool_call", "message"]
    reasoning, call, custom, message = response["output"]
    assert reasoning["summary"] == [{"type": "summary_text", "text": "Thinking it over"}]
    assert decode_reasoning(reasoning["encrypted_content"], param="x").calls == {"fc_9": SIG}
    assert call["call_id"] == "fc_9" and orjson.loads(call["arguments"]) == {"city": "Rome"}
    assert custom["input"] == "*** Begin Patch" and custom["call_id"] == "fc_10"
    assert message["content"][0]["text"] == "Calling tools."
    assert response["usage"]["output_tokens"] == 8
    assert response["usage"]["output_tokens_details"]["reasoning_tokens"] == 3


@pytest.mark.parametrize("stream", [True, False])
def test_a_stream_without_finish_reason_is_an_error_in_both_modes(stream: bool) -> None:
    state = _state()
    with pytest.raises(StreamInterrupted):
        if stream:
            state.feed(EVENTS[0])
            state.finish()
        else:
            state.build_response(EVENTS[:2])


def test_encrypted_content_is_only_shown_when_included() -> None:
    state = ResponsesStream(model="m", family="gemini-3")
    response = state.build_response(EVENTS)
    assert "encrypted_content" not in response["output"][0]
    assert "encrypted_content" in state.output[0]
