"""Anthropic Messages on Antigravity through the official `anthropic` SDK, on the emulators.

Text and streams (Anthropic's exact event sequence, `event: ping` while the upstream is silent),
two-round tool loops where the emulator checks what the real backends check on the second round
(Claude: its signed thinking block back exactly and every tool_use paired; Gemini 3: the call's own
thought signature), images and PDFs, count_tokens, and errors in Anthropic's shape and statuses.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import pytest
from PIL import Image

from tests.stack import Stack, antigravity_stack

MESSAGES_PATH = "/antigravity/v1/messages"
WEATHER_TOOL: Any = {
    "name": "get_weather",
    "description": "The weather in a city",
    "input_schema": {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "cache_control": {"type": "ephemeral"},
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with antigravity_stack(tmp_path_factory.mktemp("anthropic")) as running:
        yield running


@pytest.fixture(scope="module")
def key(stack: Stack) -> str:
    return stack.create_key()


_CLIENTS: list[anthropic.Anthropic] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    """The SDK brings its own HTTP client; close every one a test made, so no socket outlives it."""
    yield
    while _CLIENTS:
        _CLIENTS.pop().close()


def sdk(stack: Stack, key: str, base: str = "/antigravity") -> anthropic.Anthropic:
    client = anthropic.Anthropic(api_key=key, base_url=stack.gateway + base, max_retries=0, timeout=60)
    _CLIENTS.append(client)
    return client


def _png() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_non_stream_text_with_system_blocks_and_usage(stack: Stack, key: str) -> None:
    message = sdk(stack, key).messages.create(
        model="gemini-3-flash",
        max_tokens=1024,
        system=[{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        metadata={"user_id": "u-1"},
        messages=[{"role": "user", "content": "Say hello to the pangolin"}],
        extra_headers={"anthropic-beta": "some-future-beta-2099-01-01"},
    )
    text = "".join(block.text for block in message.content if block.type == "text")
    assert "pangolin" in text and message.stop_reason == "end_turn" and message.model == "gemini-3-flash"
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    assert message.usage.cache_read_input_tokens == 0 and message.usage.cache_creation_input_tokens == 0
    sent = stack.upstream_requests(":generateContent")[-1]["body"]["request"]
    assert sent["systemInstruction"] == {"role": "user", "parts": [{"text": "Be brief."}]}


def test_stream_event_sequence_and_final_message(stack: Stack, key: str) -> None:
    client = sdk(stack, key)
    with client.messages.stream(
        model="claude-sonnet-4-6",
        max_tokens=4096,
        thinking={"type": "enabled", "budget_tokens": 2048},
        messages=[{"role": "user", "content": "Tell me about the axolotl"}],
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop" and kinds[-2] == "message_delta"
    assert [block.type for block in final.content] == ["thinking", "text"]
    thinking = final.content[0]
    assert thinking.type == "thinking" and "axolotl" in thinking.thinking and thinking.signature
    assert final.stop_reason == "end_turn" and final.usage.output_tokens > 0 and final.usage.input_tokens > 0


def _tool_round(client: anthropic.Anthropic, model: str, messages: list[Any], stream: bool) -> Any:
    options: dict[str, Any] = {
        "model": model,
        "max_tokens": 8192,
        "tools": [WEATHER_TOOL],
        "messages": messages,
    }
    if model.startswith("claude"):
        options["thinking"] = {"type": "enabled", "budget_tokens": 2048}
    if not stream:
        return client.messages.create(**options)
    with client.messages.stream(**options) as events:
        return events.get_final_message()


@pytest.mark.parametrize("stream", [False, True], ids=["message", "stream"])
@pytest.mark.parametrize("model", ["claude-sonnet-4-6", "gemini-3-pro-high"])
def test_two_round_tool_loop(stack: Stack, key: str, model: str, stream: bool) -> None:
    client = sdk(stack, key)
    messages: list[Any] = [{"role": "user", "content": "What is the weather in Paris?"}]
    first = _tool_round(client, model, messages, stream)
    assert first.stop_reason == "tool_use"
    calls = [block for block in first.content if block.type == "tool_use"]
    assert len(calls) == 1 and calls[0].name == "get_weather" and "city" in calls[0].input
    if model.startswith("claude"):
        assert first.content[0].type == "thinking" and first.content[0].signature
    messages += [
        {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in first.content]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": calls[0].id, "content": "18 C, clear"}],
        },
    ]
    second = _tool_round(client, model, messages, stream)
    text = "".join(block.text for block in second.content if block.type == "text")
    assert "Tool results" in text and "18 C" in text and second.stop_reason == "end_turn"
    replayed = stack.upstream_requests("enerateContent")[-1]["body"]["request"]["contents"][1]["parts"]
    if model.startswith("claude"):
        assert replayed[0] == {
            "text": first.content[0].thinking,
            "thought": True,
            "thoughtSignature": first.content[0].signature,
        }
    else:
        assert replayed[0]["thoughtSignature"] not in ("", "skip_thought_signature_validator")


def test_image_and_pdf_blocks_reach_the_upstream(stack: Stack, key: str) -> None:
    png = _png()
    pdf = base64.b64encode(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n").decode()
    message = sdk(stack, key).messages.create(
        model="gemini-3-flash",
        max_tokens=512,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png}},
                    {
                        "type": "document",
                        "source": {"type": "base64", "media_type": "application/pdf", "data": pdf},
                    },
                    {"type": "text", "text": "Describe both"},
                ],
            }
        ],
    )
    assert message.content and message.stop_reason == "end_turn"
    parts = stack.upstream_requests(":generateContent")[-1]["body"]["request"]["contents"][0]["parts"]
    assert [part.get("inlineData", {}).get("mimeType") for part in parts[:2]] == [
        "image/png",
        "application/pdf",
    ]


def test_count_tokens_and_anthropic_model_listing(stack: Stack, key: str) -> None:
    client = sdk(stack, key)
    counted = client.messages.count_tokens(
        model="claude-sonnet-4-6", messages=[{"role": "user", "content": "Count these words please " * 20}]
    )
    assert counted.input_tokens > 20
    listed = client.models.list()
    ids = [model.id for model in listed.data]
    assert "claude-sonnet-4-6" in ids and all(model.type == "model" for model in listed.data)
    one = client.models.retrieve("claude-sonnet-4-6")
    assert one.id == "claude-sonnet-4-6" and one.display_name and one.type == "model"
    with pytest.raises(anthropic.NotFoundError):
        client.models.retrieve("no-such-model-x")


def test_server_tools_and_deferred_tools_are_left_out_and_named(stack: Stack, key: str) -> None:
    response = httpx.post(
        stack.gateway + MESSAGES_PATH,
        headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
        json={
            "model": "gemini-3-flash",
            "max_tokens": 256,
            "tools": [
                {"type": "web_search_20250305", "name": "web_search", "max_uses": 2},
                {"name": "mcp__deferred", "defer_loading": True},
            ],
            "context_management": {"edits": [{"type": "clear_tool_uses_20250919"}]},
            "messages": [{"role": "user", "content": "hello"}],
        },
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.headers["x-switchyard-dropped-tools"] == "web_search"
    assert "tools" not in stack.upstream_requests(":generateContent")[-1]["body"]["request"]


@pytest.mark.parametrize(
    ("make", "error", "status"),
    [
        (
            lambda c: c.messages.create(
                model="no-such-model-x", max_tokens=8, messages=[{"role": "user", "content": "hi"}]
            ),
            anthropic.NotFoundError,
            404,
        ),
        (
            lambda c: c.messages.create(
                model="gemini-3-flash", max_tokens=8, messages=[{"role": "system", "content": "hi"}]
            ),
            anthropic.BadRequestError,
            400,
        ),
    ],
    ids=["unknown-model", "bad-role"],
)
def test_errors_in_anthropic_shape(
    stack: Stack, key: str, make: Any, error: type[Exception], status: int
) -> None:
    with pytest.raises(error) as caught:
        make(sdk(stack, key))
    assert caught.value.status_code == status  # type: ignore[attr-defined]
    body = caught.value.body  # type: ignore[attr-defined]
    assert body["type"] == "error" and body["error"]["message"]


def test_bad_key_is_an_authentication_error(stack: Stack) -> None:
    with pytest.raises(anthropic.AuthenticationError) as caught:
        sdk(stack, "sk-not-a-key").messages.create(
            model="gemini-3-flash", max_tokens=8, messages=[{"role": "user", "content": "hi"}]
        )
    assert caught.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]


def test_broken_stream_ends_with_an_error_event(tmp_path: Path) -> None:
    with antigravity_stack(tmp_path) as running:
        running.fault("drop_after_events", events=2)
        received: list[str] = []
        client = sdk(running, running.create_key())
        with (
            pytest.raises(anthropic.APIStatusError),  # the SDK raises the `error` event
            client.messages.stream(
                model="gemini-3-flash",
                max_tokens=512,
                messages=[{"role": "user", "content": "A long okapi story"}],
            ) as stream,
        ):
            for event in stream:
                received.append(event.type)
        assert "message_start" in received and "message_stop" not in received


def test_ping_while_the_upstream_is_silent(tmp_path: Path) -> None:
    with antigravity_stack(tmp_path, keepalive_interval_s=0.1) as running:
        httpx.post(f"{running.cloudcode}/_control/settings", json={"event_delay_ms": 350}).raise_for_status()
        with httpx.stream(
            "POST",
            running.gateway + MESSAGES_PATH,
            headers={"x-api-key": running.create_key()},
            json={
                "model": "gemini-3-flash",
                "max_tokens": 256,
                "stream": True,
                "messages": [{"role": "user", "content": "owls"}],
            },
            timeout=30,
        ) as response:
            lines = [line for line in response.iter_lines() if line]
    events = [line.removeprefix("event: ") for line in lines if line.startswith("event: ")]
    assert events[0] == "message_start" and events[-1] == "message_stop"
    pings = [index for index, name in enumerate(events) if name == "ping"]
    assert pings and 0 < pings[0] < len(events) - 1, events


@pytest.mark.parametrize("stream", [False, True], ids=["message", "stream"])
def test_stop_sequence_reached_in_the_text(stack: Stack, key: str, stream: bool) -> None:
    """The emulator, like an upstream that ignores `stopSequences`, echoes past the stop word: the
    answer ends before it, with `stop_reason: stop_sequence` naming it."""
    options: Any = {
        "model": "gemini-3-flash",
        "max_tokens": 256,
        "stop_sequences": ["HALT"],
        # This SDK version no longer takes the sampling parameters as arguments; the API still does.
        "extra_body": {"temperature": 0.5, "top_p": 0.9, "top_k": 20},
        "messages": [{"role": "user", "content": "count to three HALT and then more"}],
    }
    client = sdk(stack, key)
    if stream:
        with client.messages.stream(**options) as events:
            message = events.get_final_message()
    else:
        message = client.messages.create(**options)
    text = "".join(block.text for block in message.content if block.type == "text")
    assert text.endswith("count to three ") and "HALT" not in text
    assert message.stop_reason == "stop_sequence" and message.stop_sequence == "HALT"
    config = stack.upstream_requests("enerateContent")[-1]["body"]["request"]["generationConfig"]
    assert config["stopSequences"] == ["HALT"] and config["topK"] == 20 and config["topP"] == 0.9
