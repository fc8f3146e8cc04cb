"""Two-round tool calling with parallel calls, through the `openai` SDK, on Gemini 3 and Claude thinking.

The Cloud Code emulator checks what real backends check on the second round: Gemini 3 wants the
first replayed call's own thought signature, Claude wants its signed thinking block back and every
tool_use id paired with its result. OpenAI clients drop the fields that carry those (field-notes 2
and 3), so the "stripped" replay sends back only `id`, `type` and `function` of each call.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from openai import OpenAI

from tests.e2e.test_openai_chat import extra, sdk
from tests.stack import Stack

TOOLS: Any = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather in a city",
            "parameters": {
                "$schema": "http://json-schema.org/draft-07/schema#",
                "type": "object",
                "properties": {
                    "city": {"type": "string", "minLength": 1},
                    "unit": {"type": "string", "enum": ["c", "f"], "default": "c"},
                },
                "required": ["city"],
                "additionalProperties": False,
            },
        },
    },
    {
        "type": "function",
        "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}},
    },
]
PROMPT = "Look up the weather in Paris and Rome in parallel"


def _first_round(client: OpenAI, model: str, *, stream: bool) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(the assistant message as the SDK user would replay it in full, its tool calls)."""
    messages: Any = [{"role": "user", "content": PROMPT}]
    if not stream:
        answer = client.chat.completions.create(model=model, messages=messages, tools=TOOLS)
        assert answer.choices[0].finish_reason == "tool_calls"
        message = answer.choices[0].message.model_dump(exclude_none=True)
        return message, message["tool_calls"]
    calls: dict[int, dict[str, Any]] = {}
    reasoning, finish = [], None
    for chunk in client.chat.completions.create(model=model, messages=messages, tools=TOOLS, stream=True):
        delta = chunk.choices[0].delta
        reasoning.append(extra(delta, "reasoning_content") or "")
        finish = chunk.choices[0].finish_reason or finish
        for call in delta.tool_calls or []:
            entry = calls.setdefault(
                call.index, {"type": "function", "function": {"name": "", "arguments": ""}}
            )
            if call.id:
                entry["id"] = call.id
            if call.function and call.function.name:
                entry["function"]["name"] += call.function.name
            if call.function and call.function.arguments:
                entry["function"]["arguments"] += call.function.arguments
    assert finish == "tool_calls"
    tool_calls = [calls[index] for index in sorted(calls)]
    message = {"role": "assistant", "content": None, "tool_calls": tool_calls}
    if "".join(reasoning):
        message["reasoning_content"] = "".join(reasoning)
    return message, tool_calls


@pytest.mark.parametrize("model", ["gemini-3-pro-high", "claude-sonnet-4-5-thinking"])
@pytest.mark.parametrize(
    ("stream", "replay"), [(False, "full"), (True, "stripped"), (False, "stripped")], ids=str
)
def test_parallel_tool_calls_two_rounds(stack: Stack, model: str, stream: bool, replay: str) -> None:
    client = sdk(stack)
    assistant, tool_calls = _first_round(client, model, stream=stream)
    assert len(tool_calls) == 2, "the emulator calls the first function twice when asked for parallel calls"
    assert all(call["function"]["name"] == "get_weather" for call in tool_calls)
    assert all("city" in orjson.loads(call["function"]["arguments"]) for call in tool_calls)
    assert len({call["id"] for call in tool_calls}) == 2
    if replay == "stripped":
        assistant = {
            "role": "assistant",
            "tool_calls": [
                {"id": c["id"], "type": "function", "function": c["function"]} for c in tool_calls
            ],
        }
    results: list[Any] = [
        {"role": "tool", "tool_call_id": call["id"], "content": orjson.dumps({"temp_c": 20 + n}).decode()}
        for n, call in enumerate(tool_calls)
    ]
    messages: Any = [{"role": "user", "content": PROMPT}, assistant, *results]
    answer = client.chat.completions.create(model=model, messages=messages, tools=TOOLS)
    content = answer.choices[0].message.content or ""
    assert "Tool results" in content and "temp_c" in content
    replayed = stack.upstream_requests("enerateContent")[-1]["body"]["request"]["contents"][1]["parts"]
    if model.startswith("claude"):
        assert replayed[0]["thought"] is True and replayed[0]["thoughtSignature"], "signed thinking restored"
    else:
        calls = [part for part in replayed if "functionCall" in part]
        assert calls[0]["thoughtSignature"] != "skip_thought_signature_validator", "the real signature"
