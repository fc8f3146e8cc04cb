"""OpenAI-surface details a strict client notices (issue 13): non-stream `tool_calls` without
`index`, short plain tool-call ids, and OpenAI's 400 for a tool name OpenAI would refuse."""

from __future__ import annotations

import re
from typing import Any

import httpx
import orjson
import pytest

from tests.stack import Stack

TOOL: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
PLAIN_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _chat(stack: Stack, key: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"{stack.gateway}/antigravity/v1/chat/completions",
        headers={"authorization": f"Bearer {key}"},
        json=body,
        timeout=60,
    )


def _tool_calls(stack: Stack, key: str, model: str, *, stream: bool) -> list[dict[str, Any]]:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": "Weather in Paris and Rome in parallel?"}],
        "tools": [TOOL],
        "stream": stream,
    }
    response = _chat(stack, key, body)
    assert response.status_code == 200, response.text
    if not stream:
        calls: list[dict[str, Any]] = response.json()["choices"][0]["message"]["tool_calls"]
        return calls
    chunks = [
        orjson.loads(line[6:])
        for line in response.text.splitlines()
        if line.startswith("data: ") and line != "data: [DONE]"
    ]
    return [call for chunk in chunks for call in chunk["choices"][0]["delta"].get("tool_calls", [])]


@pytest.mark.parametrize("model", ["gemini-3-flash", "claude-sonnet-4-6"])
def test_non_stream_tool_calls_have_no_index(stack: Stack, model: str) -> None:
    calls = _tool_calls(stack, stack.create_key(), model, stream=False)
    assert calls and all("index" not in call for call in calls)


@pytest.mark.parametrize("stream", [False, True], ids=["unary", "stream"])
@pytest.mark.parametrize("model", ["gemini-3-flash", "gemini-pro-agent", "claude-sonnet-4-6"])
def test_tool_call_ids_are_short_and_plain(stack: Stack, model: str, stream: bool) -> None:
    calls = _tool_calls(stack, stack.create_key(), model, stream=stream)
    ids = [call["id"] for call in calls if call.get("id")]
    assert len(ids) == 2 and len(set(ids)) == 2
    assert all(PLAIN_ID.fullmatch(call_id) for call_id in ids), ids


def test_a_tool_name_openai_refuses_is_a_400_naming_the_tool(stack: Stack) -> None:
    bad = {"type": "function", "function": {"name": "bad name!", "parameters": {"type": "object"}}}
    body = {"model": "gemini-3-flash", "messages": [{"role": "user", "content": "hi"}], "tools": [TOOL, bad]}
    response = _chat(stack, stack.create_key(), body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == "tools[1].function.name" and "bad name!" in error["message"]
    assert error["type"] == "invalid_request_error"
    assert stack.upstream_requests("enerateContent") == []
