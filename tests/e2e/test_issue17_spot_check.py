"""Issue 17 #6 and #7 in one pass: every input the issue listed gets a proper answer — no 5xx — in
its route's dialect (the detailed tests are in tests/surfaces/test_bad_input.py,
tests/e2e/test_gemini_web_bad_input.py, tests/surfaces/test_body_limit.py, tests/test_http_protocol.py)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.stack import Stack, antigravity_stack
from tests.web_stack import WebStack, web_stack

MAX_BYTES = 256 * 1024
CONTENTS = [{"role": "user", "parts": [{"text": "hi"}]}]
MESSAGES = [{"role": "user", "content": "hi"}]


def nested(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"a": schema}}
    return schema


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with antigravity_stack(Path(tmp_path_factory.mktemp("spot-ag")), accounts_count=1) as running:
        yield running


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebStack]:
    with web_stack(
        Path(tmp_path_factory.mktemp("spot-web")), accounts_count=1, max_request_bytes=MAX_BYTES
    ) as running:
        yield running


def _openai(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["type"] in {"invalid_request_error", "request_too_large"}, response.text


def _google(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT", response.text


@pytest.mark.parametrize("levels", [130, 400])
def test_deep_schemas_on_both_dialects(stack: Stack, levels: int) -> None:
    key = stack.create_key()
    chat = stack.gateway + "/antigravity/v1/chat/completions"
    generate = stack.gateway + "/antigravity/v1beta/models/gemini-2.5-flash:generateContent"
    tool = {"type": "function", "function": {"name": "f", "parameters": nested(levels)}}
    auth = {"Authorization": f"Bearer {key}"}
    _openai(
        httpx.post(
            chat, headers=auth, json={"model": "gemini-2.5-flash", "messages": MESSAGES, "tools": [tool]}
        ),
        400,
    )
    response_format = {"type": "json_schema", "json_schema": {"name": "x", "schema": nested(levels)}}
    body = {"model": "gemini-2.5-flash", "messages": MESSAGES, "response_format": response_format}
    _openai(httpx.post(chat, headers=auth, json=body), 400)
    config = {"responseMimeType": "application/json", "responseSchema": nested(levels)}
    google = {"x-goog-api-key": key}
    _google(httpx.post(generate, headers=google, json={"contents": CONTENTS, "generationConfig": config}))


def test_scalars_that_used_to_be_500s(stack: Stack) -> None:
    key = stack.create_key()
    chat = stack.gateway + "/antigravity/v1/chat/completions"
    body = {"model": "gemini-2.5-flash", "messages": MESSAGES, "seed": 2**80}
    _openai(httpx.post(chat, headers={"Authorization": f"Bearer {key}"}, json=body), 400)
    generate = stack.gateway + "/antigravity/v1beta/models/gemini-2.5-flash:generateContent"
    contents = [{"role": {}, "parts": [{"text": "hi"}]}]
    _google(httpx.post(generate, headers={"x-goog-api-key": key}, json={"contents": contents}))


def test_a_malformed_content_length_is_a_json_400(stack: Stack) -> None:
    host, port = stack.gateway.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(
            b"POST /antigravity/v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 12x\r\n\r\n"
        )
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and orjson.loads(body)["error"]["type"] == "invalid_request_error"


def test_gemini_web_inputs(web: WebStack) -> None:
    auth = {"Authorization": f"Bearer {web.key}"}
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo"}}
    messages: list[dict[str, Any]] = [{"role": "user", "content": [{"type": "text", "text": "hi"}, image]}]
    chat = web.base_url + "/chat/completions"
    _openai(
        httpx.post(chat, headers=auth, json={"model": "gemini-3-pro", "messages": messages}, timeout=60), 400
    )
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "x", "tool_calls": 5},
        {"role": "user", "content": "again"},
    ]
    _openai(
        httpx.post(chat, headers=auth, json={"model": "gemini-3-pro", "messages": messages}, timeout=60), 400
    )
    edit = httpx.post(
        web.base_url + "/images/edits",
        headers=auth,
        data={"prompt": "a cat", "model": "gemini-3-pro-imagen"},
        files={"image": ("cat.png", b"not sniffable " * 10, "image/png\x00")},
        timeout=60,
    )
    _openai(edit, 400)
    big = {"model": "gemini-3-pro-imagen", "prompt": "a" * (MAX_BYTES + 1)}
    _openai(httpx.post(web.base_url + "/images/generations", headers=auth, json=big, timeout=60), 413)
    oversized_edit = httpx.post(
        web.base_url + "/images/edits",
        headers=auth,
        data={"prompt": "a cat", "model": "gemini-3-pro-imagen"},
        files={"image": ("cat.png", b"\x89PNG" + b"a" * MAX_BYTES, "image/png")},
        timeout=60,
    )
    _openai(oversized_edit, 413)


def test_identical_concurrent_web_chats_are_all_served(web: WebStack) -> None:
    body = {
        "model": "gemini-3-pro",
        "messages": [
            {"role": "user", "content": "spot race"},
            {"role": "assistant", "content": "hello"},
            {"role": "user", "content": "again"},
        ],
    }
    statuses: list[int] = []

    def one() -> None:
        response = httpx.post(
            web.base_url + "/chat/completions",
            headers={"Authorization": f"Bearer {web.key}"},
            json=body,
            timeout=60,
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=one) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 6
