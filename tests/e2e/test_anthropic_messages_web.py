"""Anthropic Messages on Gemini web through the official `anthropic` SDK, on the web emulator.

Gemini web has no function calling: tools go through the web chat surface's prompt protocol, so
the test checks what the web app is sent (the offer, then the call and its result written back)
and that the answer comes back as Anthropic blocks. Signed thinking cannot be honoured on the web:
replaying it is a 400 naming the field, never silently faked.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import pytest
from PIL import Image

from tests.web_stack import WebStack, web_stack

TOOL: Any = {
    "name": "get_weather",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebStack]:
    with web_stack(tmp_path_factory.mktemp("anthropic-web"), gemini_web_media_delivery="data") as running:
        yield running


@pytest.fixture
def client(stack: WebStack) -> Iterator[anthropic.Anthropic]:
    sdk = anthropic.Anthropic(
        api_key=stack.key, base_url=f"{stack.gateway}/gemini_official", max_retries=0, timeout=60
    )
    yield sdk
    sdk.close()


@pytest.mark.parametrize("stream", [False, True], ids=["message", "stream"])
def test_text_with_thinking_blocks(client: anthropic.Anthropic, stream: bool) -> None:
    options: Any = {
        "model": "gemini-2.5-flash",
        "max_tokens": 1024,
        "system": "Be brief.",
        "messages": [{"role": "user", "content": "What is the capital of France?"}],
    }
    if stream:
        with client.messages.stream(**options) as events:
            kinds = [event.type for event in events]
            message = events.get_final_message()
        assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    else:
        message = client.messages.create(**options)
    blocks = {block.type: block for block in message.content}
    assert "What is the capital" in blocks["text"].text  # type: ignore[union-attr]
    assert "thinking" in blocks and blocks["thinking"].signature == ""  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn" and message.usage.output_tokens > 0


def test_tool_loop_goes_through_the_prompt_protocol(stack: WebStack, client: anthropic.Anthropic) -> None:
    first = client.messages.create(
        model="gemini-3-pro",
        max_tokens=512,
        tools=[TOOL],
        messages=[{"role": "user", "content": "Weather in Paris?"}],
    )
    assert first.content and first.stop_reason == "end_turn"
    offered = stack.generate_requests()[-1]["prompt"]
    assert "get_weather" in offered and "```tool_call" in offered
    second = client.messages.create(
        model="gemini-3-pro",
        max_tokens=512,
        tools=[TOOL],
        messages=[
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}
                ],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "18 C, clear"}],
            },
        ],
    )
    assert second.content
    prompt = stack.generate_requests()[-1]["prompt"]
    assert '"city": "Paris"' in prompt or '"city":"Paris"' in prompt
    assert "```tool_result" in prompt and "18 C, clear" in prompt


def test_image_input(stack: WebStack, client: anthropic.Anthropic) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 200, 10)).save(buffer, format="PNG")
    data = base64.b64encode(buffer.getvalue()).decode()
    message = client.messages.create(
        model="gemini-2.5-flash",
        max_tokens=512,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}},
                    {"type": "text", "text": "What colour is this?"},
                ],
            }
        ],
    )
    assert message.content
    assert "[attached: file1.png]" in stack.generate_requests()[-1]["prompt"]


def test_signed_thinking_is_refused_naming_the_field(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(
            model="gemini-2.5-flash",
            max_tokens=512,
            messages=[
                {"role": "user", "content": "hi"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "thinking", "thinking": "x", "signature": "c2ln"},
                        {"type": "text", "text": "hello"},
                    ],
                },
                {"role": "user", "content": "again"},
            ],
        )
    assert "messages[1].content[0].signature" in caught.value.body["error"]["message"]  # type: ignore[index]


def test_count_tokens_errors_and_listing(stack: WebStack, client: anthropic.Anthropic) -> None:
    counted = client.messages.count_tokens(
        model="gemini-2.5-flash", messages=[{"role": "user", "content": "word " * 40}]
    )
    assert counted.input_tokens >= 40
    with pytest.raises(anthropic.NotFoundError):
        client.messages.create(
            model="gemini-9-ultra", max_tokens=8, messages=[{"role": "user", "content": "hi"}]
        )
    listing = httpx.get(
        f"{stack.gateway}/gemini_official/v1/models",
        headers={"x-api-key": stack.key, "anthropic-version": "2023-06-01"},
    ).json()
    assert listing["has_more"] is False and all(entry["type"] == "model" for entry in listing["data"])
