"""Bodies over SWITCHYARD_MAX_REQUEST_BYTES are refused with 413 before they are buffered whole."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from switchyard.app import create_app
from tests.conftest import Gateway, make_settings
from tests.servers import serve


@pytest.fixture
def small_gateway(tmp_path: Path) -> Iterator[Gateway]:
    settings = make_settings(tmp_path, max_request_bytes=2048)
    with serve(create_app(settings)) as url:
        yield Gateway(url, settings)


@pytest.mark.parametrize(
    ("path", "headers_for", "body", "field"),
    [
        (
            "/antigravity/v1/chat/completions",
            "bearer",
            {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "x" * 4000}]},
            "type",
        ),
        (
            "/antigravity/v1beta/models/gemini-2.5-flash:generateContent",
            "goog",
            {"contents": [{"parts": [{"text": "x" * 4000}]}]},
            "status",
        ),
        (
            "/gemini_official/v1/chat/completions",
            "bearer",
            {"model": "gemini-3-pro", "messages": [{"role": "user", "content": "x" * 4000}]},
            "type",
        ),
    ],
)
def test_oversized_bodies_get_413_in_the_dialect(
    small_gateway: Gateway, path: str, headers_for: str, body: dict[str, object], field: str
) -> None:
    key = small_gateway.create_key()
    headers = {"Authorization": f"Bearer {key}"} if headers_for == "bearer" else {"x-goog-api-key": key}
    response = httpx.post(small_gateway.url + path, headers=headers, json=body)
    assert response.status_code == 413
    error = response.json()["error"]
    assert "SWITCHYARD_MAX_REQUEST_BYTES" in error["message"]
    assert field in error


def test_chunked_bodies_are_limited_too(small_gateway: Gateway) -> None:
    key = small_gateway.create_key()

    def chunks() -> Iterator[bytes]:
        yield b'{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"'
        for _ in range(10):
            yield b"y" * 1000
        yield b'"}]}'

    response = httpx.post(
        small_gateway.url + "/antigravity/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        content=chunks(),
    )
    assert response.status_code == 413


def _assert_openai_413(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert "SWITCHYARD_MAX_REQUEST_BYTES" in error["message"] and "type" in error


def test_image_generation_json_bodies_are_limited(small_gateway: Gateway) -> None:
    key = small_gateway.create_key()
    response = httpx.post(
        small_gateway.url + "/gemini_official/v1/images/generations",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": "gemini-3-pro-imagen", "prompt": "x" * 4000},
    )
    _assert_openai_413(response)


@pytest.mark.parametrize("chunked", [False, True])
def test_image_edit_multipart_bodies_are_limited(small_gateway: Gateway, chunked: bool) -> None:
    key = small_gateway.create_key()
    request = httpx.Request(
        "POST",
        small_gateway.url + "/gemini_official/v1/images/edits",
        headers={"Authorization": f"Bearer {key}"},
        data={"model": "gemini-3-pro-imagen", "prompt": "a cat"},
        files={"image": ("cat.png", b"\x89PNG\r\n\x1a\n" + b"0" * 6000, "image/png")},
    )
    body = request.read()
    headers = dict(request.headers)
    content: bytes | Iterator[bytes] = body
    if chunked:
        headers.pop("content-length")
        content = iter([body[i : i + 1000] for i in range(0, len(body), 1000)])
    response = httpx.post(request.url, headers=headers, content=content)
    _assert_openai_413(response)
