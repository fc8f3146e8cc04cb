"""The Gemini web tool-calling prompt protocol (`providers/gemini_web/tools.py`), as pure functions:
the parser on its own (full tool loops through the emulator's scripted replies are in
test_gemini_web_today.py)."""

from __future__ import annotations

import pytest

from switchyard.errors import StreamInterrupted
from switchyard.providers.gemini_web.prompt import flatten
from switchyard.providers.gemini_web.tools import ToolCallFilter, ToolOffer, tool_offer

OFFER = ToolOffer([{"name": "get_weather", "description": "", "parameters": {"type": "object"}}])
ANSWER = 'Let me check.\n```tool_call\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n```\n'


@pytest.mark.parametrize("size", [1, 3, 7, len(ANSWER)])
def test_streamed_calls_are_parsed_and_the_markup_hidden(size: int) -> None:
    tool_filter = ToolCallFilter(OFFER)
    shown = "".join(tool_filter.feed(ANSWER[i : i + size]) for i in range(0, len(ANSWER), size))
    tail, calls = tool_filter.finish()
    assert (shown + tail).strip() == "Let me check."
    assert [(c["name"], c["args"]) for c in calls] == [("get_weather", {"city": "Paris"})]
    assert calls[0]["id"].startswith("call_")


def test_escaped_underscore_from_the_web_renderer_is_accepted() -> None:
    tool_filter = ToolCallFilter(OFFER)
    shown = tool_filter.feed(
        ANSWER.replace("tool_call", "tool\\_call").replace("get_weather", "get\\_weather")
    )
    _, calls = tool_filter.finish()
    assert "tool" not in shown and calls[0]["name"] == "get_weather"


def test_plain_text_with_backticks_passes_through() -> None:
    tool_filter = ToolCallFilter(OFFER)
    text = "Use `ls` and ```python\nprint(1)\n```"
    shown = tool_filter.feed(text)
    tail, calls = tool_filter.finish()
    assert shown + tail == text and calls == []


def test_a_malformed_call_is_an_error_not_text() -> None:
    tool_filter = ToolCallFilter(OFFER)
    tool_filter.feed("```tool_call\n{not json}\n```")
    with pytest.raises(StreamInterrupted, match="malformed"):
        tool_filter.finish()


def test_history_with_calls_and_results_is_flattened_in_the_protocol() -> None:
    body = {
        "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}],
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "18 C"},
        ],
    }
    offer = tool_offer(body)
    assert offer is not None
    prompt = flatten(body["messages"], offer=offer, media={}).text
    assert prompt.startswith("<|im_start|>system\nBe brief.")
    assert '```tool_call\n{"name":"get_weather","arguments":{"city":"Paris"}}\n```' in prompt
    assert '```tool_result\n{"name":"get_weather","content":"18 C"}\n```' in prompt
    assert prompt.endswith("<|im_start|>assistant\n")


def test_tool_choice_none_offers_nothing() -> None:
    body = {"tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "none"}
    assert tool_offer(body) is None
