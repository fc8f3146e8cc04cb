"""OpenAI chat completions on Gemini web, with the official `openai` SDK against the gateway on the
emulator (reached through its HTTPS proxy by the real `gemini_webapi` client)."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from PIL import Image

from tests.web_stack import WebStack, web_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebStack]:
    with web_stack(tmp_path_factory.mktemp("web-chat"), gemini_web_media_delivery="data") as running:
        yield running


def test_non_stream_answers_with_thoughts_as_reasoning(stack: WebStack) -> None:
    answer = stack.client().chat.completions.create(
        model="gemini-2.5-flash", messages=[{"role": "user", "content": "What is the capital of France?"}]
    )
    message = answer.choices[0].message
    assert message.content is not None and message.content.startswith("Echo: What is the capital of France?")
    assert "3.6 Flash" in message.content  # the account's Flash, with extended thinking asked
    reasoning = getattr(message, "reasoning_content", None) or (message.model_extra or {}).get(
        "reasoning_content"
    )
    assert reasoning and "What is the capital of France?" in reasoning
    assert answer.choices[0].finish_reason == "stop" and answer.model == "gemini-2.5-flash"
    assert answer.usage is not None and answer.usage.completion_tokens > 0
    sent = stack.generate_requests()[-1]
    assert sent["prompt"] == "What is the capital of France?"  # a lone message is sent as it is
    assert sent["extended_thinking"] and sent["model"] == "fbb127bbb056c959"


def test_stream_is_incremental(stack: WebStack) -> None:
    chunks = list(
        stack.client().chat.completions.create(
            model="gemini-3-pro",
            messages=[{"role": "user", "content": "Explain streaming please"}],
            stream=True,
        )
    )
    texts = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(texts) >= 3, texts
    full = "".join(texts)
    assert full.startswith("Echo: Explain streaming please") and "3.1 Pro" in full
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_deprecated_pro_is_served_by_gemini_3_pro_and_says_so(stack: WebStack) -> None:
    raw = stack.client().chat.completions.with_raw_response.create(
        model="gemini-2.5-pro", messages=[{"role": "user", "content": "hello"}]
    )
    assert raw.headers["x-switchyard-served-model"] == "gemini-3-pro"
    assert raw.headers["deprecation"] == "true" and "deprecated" in raw.headers["warning"]
    assert "3.1 Pro" in (raw.parse().choices[0].message.content or "")
    assert raw.headers["x-switchyard-web-model"] == "3.1 Pro" and "x-switchyard-downgraded" not in raw.headers


def test_image_input_is_uploaded(stack: WebStack) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 10)).save(buffer, format="PNG")
    data_url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    answer = stack.client().chat.completions.create(
        model="gemini-3-pro",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Describe this picture"},
                    {"type": "image_url", "image_url": {"url": data_url}},
                ],
            }
        ],
    )
    content = answer.choices[0].message.content or ""
    assert f"(image/png, {len(buffer.getvalue())} bytes" in content
    uploads = [r for r in stack.requests() if r["host"] == "content-push.googleapis.com"]
    assert uploads


def test_free_flash_refuses_image_input(stack: WebStack) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        stack.client().chat.completions.create(
            model="gemini-2.5-flash-free",
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is this?"},
                        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                    ],
                }
            ],
        )
    assert "does not accept image or file input" in caught.value.message


def test_unknown_model_is_404_in_openai_dialect(stack: WebStack) -> None:
    response = httpx.post(
        f"{stack.base_url}/chat/completions",
        headers={"Authorization": f"Bearer {stack.key}"},
        json={"model": "gemini-9-ultra", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert response.status_code == 404
    assert response.json()["error"]["param"] == "model"


def test_follow_up_continues_the_web_conversation(stack: WebStack, tmp_path: Path) -> None:
    client = stack.client()
    history: list[Any] = [{"role": "user", "content": "first question about rivers"}]
    first = client.chat.completions.create(model="gemini-3-pro", messages=history)
    history += [
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": "second question about lakes"},
    ]
    second = client.chat.completions.create(model="gemini-3-pro", messages=history, stream=True)
    chunks: list[Any] = list(second)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "turn 2" in text
    sent = [
        r
        for r in stack.generate_requests()
        if r["prompt"] in {"first question about rivers", "second question about lakes"}
    ]
    assert [r["prompt"] for r in sent] == ["first question about rivers", "second question about lakes"]
    assert sent[0]["cid"] == "" and sent[1]["cid"].startswith("c_")
    assert sent[0]["account"] == sent[1]["account"]
