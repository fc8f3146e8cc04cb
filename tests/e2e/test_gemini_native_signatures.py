"""Signatures on the Gemini-native surface (issue 13, §12.4): a Claude tool turn sent back without
its thinking block gets the remembered one (also on a fresh instance, from the store), and one
nobody remembers is served with thinking off instead of failing."""

from __future__ import annotations

from typing import Any

import pytest

from switchyard.app import create_app
from tests.e2e.test_gemini_native_google import WEATHER_TOOL, _post, _stream
from tests.servers import serve
from tests.stack import Stack

CLAUDE = "claude-sonnet-4-6"
QUESTION = {"role": "user", "parts": [{"text": "Weather in Paris?"}]}


def _calls_only(stack: Stack, key: str, stream: bool) -> list[dict[str, Any]]:
    """The first turn as a client that keeps only the calls sends it back (no thoughts, no ids)."""
    body = {"contents": [QUESTION], "tools": [WEATHER_TOOL]}
    if stream:
        events = _stream(stack, key, CLAUDE, body)
        parts = [p for e in events for c in e.get("candidates", []) for p in c["content"].get("parts", [])]
    else:
        response = _post(stack, key, CLAUDE, body)
        assert response.status_code == 200, response.text
        parts = response.json()["candidates"][0]["content"]["parts"]
    return [{"functionCall": p["functionCall"]} for p in parts if "functionCall" in p]


def _second_turn(calls: list[dict[str, Any]]) -> dict[str, Any]:
    results = [
        {"functionResponse": {"name": c["functionCall"]["name"], "response": {"t": 21}}} for c in calls
    ]
    return {
        "contents": [QUESTION, {"role": "model", "parts": calls}, {"role": "user", "parts": results}],
        "tools": [WEATHER_TOOL],
    }


@pytest.mark.parametrize("stream", [False, True], ids=["unary", "stream"])
def test_claude_thinking_block_restored_on_a_fresh_instance(stack: Stack, stream: bool) -> None:
    key = stack.create_key()
    calls = _calls_only(stack, key, stream)
    assert calls
    with serve(create_app(stack.settings)) as fresh:
        stack.gateway, first = fresh, stack.gateway
        try:
            response = _post(stack, key, CLAUDE, _second_turn(calls))
        finally:
            stack.gateway = first
    assert response.status_code == 200, response.text
    sent = stack.upstream_requests("enerateContent")[-1]["body"]["request"]
    leading = sent["contents"][1]["parts"][0]
    assert leading["thought"] is True and leading["thoughtSignature"]
    assert "thinkingConfig" in sent["generationConfig"], "thinking stays on"


def test_claude_tool_turn_nobody_remembers_is_served_without_thinking(stack: Stack) -> None:
    calls = [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}, "id": "toolu_elsewhere"}}]
    response = _post(stack, stack.create_key(), CLAUDE, _second_turn(calls))
    assert response.status_code == 200, response.text
    sent = stack.upstream_requests("enerateContent")[-1]["body"]["request"]
    assert "thinkingConfig" not in sent.get("generationConfig", {})
