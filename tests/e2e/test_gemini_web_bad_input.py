"""Client input on the Gemini web routes that used to become a 500 (issue 17 #6), and identical chats
racing on the conversation table: each is a 400 naming the field, or served."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.web_stack import WebStack, web_stack

MODEL = "gemini-3-pro"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebStack]:
    with web_stack(tmp_path_factory.mktemp("web-bad-input"), accounts_count=1) as running:
        yield running


def chat(stack: WebStack, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        stack.base_url + "/chat/completions",
        headers={"Authorization": f"Bearer {stack.key}"},
        json={"model": MODEL, **body},
        timeout=60,
    )


def test_a_data_url_with_bad_padding_is_refused(stack: WebStack) -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo"}}
    response = chat(
        stack, {"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}, image]}]}
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == "messages[0].content[1]" and "base64" in error["message"]


def test_tool_calls_that_are_not_an_array_are_refused(stack: WebStack) -> None:
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "x", "tool_calls": 5},
        {"role": "user", "content": "again"},
    ]
    response = chat(stack, {"messages": messages})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "messages[1].tool_calls"


@pytest.mark.parametrize("content_type", ["image/png\x00", "image/\x00png"])
def test_a_nul_in_a_multipart_content_type_is_refused(stack: WebStack, content_type: str) -> None:
    response = httpx.post(
        stack.base_url + "/images/edits",
        headers={"Authorization": f"Bearer {stack.key}"},
        data={"prompt": "a cat", "model": "gemini-3-pro-imagen"},
        files={"image": ("cat.png", b"not sniffable " * 10, content_type)},
        timeout=60,
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == "image" and "Content-Type" in error["message"]


@pytest.mark.parametrize("stream", [False, True])
def test_identical_concurrent_chats_are_all_served(stack: WebStack, stream: bool) -> None:
    messages = [
        {"role": "user", "content": f"race {stream}"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "again"},
    ]
    outcomes: list[tuple[int, bytes]] = []

    def one() -> None:
        with httpx.stream(
            "POST",
            stack.base_url + "/chat/completions",
            headers={"Authorization": f"Bearer {stack.key}"},
            json={"model": MODEL, "messages": messages, "stream": stream},
            timeout=60,
        ) as response:
            outcomes.append((response.status_code, response.read()))

    for _ in range(2):
        threads = [threading.Thread(target=one) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert [status for status, _ in outcomes] == [200] * 20, outcomes
    if stream:
        for _, body in outcomes:
            assert body.rstrip().endswith(b"data: [DONE]") and b'"error"' not in body, body[-400:]


def test_tool_calls_on_a_user_message_that_are_not_an_array_are_no_500(stack: WebStack) -> None:
    """Found by the bad-input battery: a first message with `tool_calls: true` broke the session key."""
    response = chat(stack, {"messages": [{"role": "user", "content": "hi", "tool_calls": True}]})
    assert response.status_code < 500, response.text
