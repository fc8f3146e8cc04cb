"""Thought signatures survive a restart and reach another instance (issue 13): the second turn of a
tool loop, sent to a fresh gateway on the same store, still replays the signatures of the first."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from switchyard.app import create_app
from tests.e2e.test_openai_chat import sdk
from tests.e2e.test_openai_chat_tools import PROMPT, TOOLS, _first_round
from tests.servers import serve
from tests.stack import Stack


@pytest.mark.parametrize("stream", [False, True], ids=["unary", "stream"])
@pytest.mark.parametrize("model", ["claude-sonnet-4-6", "gemini-pro-agent"])
def test_second_turn_on_a_fresh_instance_replays_signatures(stack: Stack, model: str, stream: bool) -> None:
    key = stack.create_key()
    _, tool_calls = _first_round(sdk(stack, key), model, stream=stream)
    # What a strict OpenAI client sends back: ids, names and arguments only.
    assistant = {
        "role": "assistant",
        "tool_calls": [{"id": c["id"], "type": "function", "function": c["function"]} for c in tool_calls],
    }
    results: list[Any] = [
        {"role": "tool", "tool_call_id": call["id"], "content": orjson.dumps({"temp_c": 20}).decode()}
        for call in tool_calls
    ]
    messages: Any = [{"role": "user", "content": PROMPT}, assistant, *results]
    with serve(create_app(stack.settings)) as fresh:  # a restarted (or second) gateway: empty memory
        stack.gateway, first_gateway = fresh, stack.gateway
        try:
            answer = sdk(stack, key).chat.completions.create(model=model, messages=messages, tools=TOOLS)
        finally:
            stack.gateway = first_gateway
    assert "Tool results" in (answer.choices[0].message.content or "")
    replayed = stack.upstream_requests("enerateContent")[-1]["body"]["request"]["contents"][1]["parts"]
    if model.startswith("claude"):
        assert replayed[0]["thought"] is True and replayed[0]["thoughtSignature"], "signed thinking restored"
    else:
        calls = [part for part in replayed if "functionCall" in part]
        assert calls[0]["thoughtSignature"] != "skip_thought_signature_validator", "the real signature"
