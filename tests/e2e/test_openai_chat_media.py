"""Media through the OpenAI chat surface: inputs by data URL and by http URL, generated images at the
asked size and ratio, code execution and JSON schemas — through the `openai` SDK on the emulators."""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from PIL import Image
from PIL.ImageFile import ImageFile
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.e2e.test_openai_chat import extra, sdk
from tests.servers import serve
from tests.stack import Stack, antigravity_stack


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


PNG = _png()
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x01" * 64
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x02" * 64
FILES = {"pic.png": (PNG, "image/png"), "sound.wav": (WAV, "audio/wav"), "clip.mp4": (MP4, "video/mp4")}
EXPECTED_MIME = [mime for _, mime in FILES.values()]


async def _file(request: Request) -> Response:
    data, _ = FILES[request.path_params["name"]]
    return Response(data, media_type="application/octet-stream")  # the bytes decide the type


@pytest.fixture
def media_server() -> Iterator[str]:
    with serve(Starlette(routes=[Route("/{name}", _file)])) as base:
        yield base


@pytest.fixture
def media_stack(tmp_path: Path) -> Iterator[Stack]:
    with antigravity_stack(tmp_path, media_allow_hosts=["127.0.0.1"]) as running:
        yield running


def _media_message(urls: list[str]) -> Any:
    parts: list[dict[str, Any]] = [{"type": "text", "text": "What is in these files?"}]
    parts += [{"type": "image_url", "image_url": {"url": url}} for url in urls]
    return [{"role": "user", "content": parts}]


def _sent_inline_parts(stack: Stack) -> list[dict[str, Any]]:
    parts = stack.upstream_requests("enerateContent")[-1]["body"]["request"]["contents"][-1]["parts"]
    return [part["inlineData"] for part in parts if "inlineData" in part]


@pytest.mark.parametrize("stream", [False, True], ids=["unary", "stream"])
def test_image_audio_video_by_data_url(stack: Stack, stream: bool) -> None:
    urls = [
        f"data:application/octet-stream;base64,{base64.b64encode(data).decode()}"
        for data, _ in FILES.values()
    ]
    result: Any = sdk(stack).chat.completions.create(
        model="gemini-2.5-flash", messages=_media_message(urls), stream=stream
    )
    if stream:
        assert "What is in these files?" in "".join(
            c.choices[0].delta.content or "" for c in result if c.choices
        )
    sent = _sent_inline_parts(stack)
    assert [part["mimeType"] for part in sent] == EXPECTED_MIME
    assert [base64.b64decode(part["data"]) for part in sent] == [data for data, _ in FILES.values()]


def test_image_audio_video_by_http_url(media_stack: Stack, media_server: str) -> None:
    urls = [f"{media_server}/{name}" for name in FILES]
    messages = _media_message(urls)
    messages[0]["content"].append(
        {"type": "input_audio", "input_audio": {"data": base64.b64encode(WAV).decode(), "format": "wav"}}
    )
    answer = sdk(media_stack).chat.completions.create(model="gemini-2.5-flash", messages=messages)
    assert answer.choices[0].message.content
    sent = _sent_inline_parts(media_stack)
    assert [part["mimeType"] for part in sent] == [*EXPECTED_MIME, "audio/wav"]
    assert base64.b64decode(sent[0]["data"]) == PNG


def test_loopback_url_refused_when_not_allowed(stack: Stack, media_server: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk(stack).chat.completions.create(
            model="gemini-2.5-flash", messages=_media_message([f"{media_server}/pic.png"])
        )
    assert "127.0.0.1" in caught.value.message and "loopback" in caught.value.message
    assert stack.upstream_requests("enerateContent") == []


def test_only_listed_hosts_are_allowed(media_stack: Stack, media_server: str) -> None:
    """`localhost` is loopback too, and only `127.0.0.1` is on the allow-list."""
    url = media_server.replace("127.0.0.1", "localhost") + "/pic.png"
    with pytest.raises(openai.BadRequestError) as caught:
        sdk(media_stack).chat.completions.create(model="gemini-2.5-flash", messages=_media_message([url]))
    assert "localhost" in caught.value.message and "loopback" in caught.value.message


def _decoded_images(message: Any) -> list[ImageFile]:
    """The images of an answer, from the `images` list and the markdown in `content` (the same ones)."""
    listed = [item["image_url"]["url"] for item in extra(message, "images") or []]
    markdown = re.findall(r"!\[[^\]]*\]\((data:[^)]+)\)", message.content or "")
    assert listed and listed == markdown
    return [Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) for url in listed]


def test_4k_16_9_image(stack: Stack) -> None:
    answer = sdk(stack).chat.completions.create(
        model="gemini-3-pro-image",
        messages=[{"role": "user", "content": "Draw a lighthouse"}],
        extra_body={"aspect_ratio": "16:9", "image_size": "4K"},
    )
    (image,) = _decoded_images(answer.choices[0].message)
    assert image.size == (5504, 3072)
    config = stack.upstream_requests("enerateContent")[-1]["body"]["request"]["generationConfig"]
    assert config["imageConfig"] == {"aspectRatio": "16:9", "imageSize": "4K"}


@pytest.mark.parametrize("stream", [False, True], ids=["unary", "stream"])
def test_unusual_ratio_is_cropped_exactly(stack: Stack, stream: bool) -> None:
    """5:3 is drawn as the nearest supported ratio (16:9, 1376×768) and cropped to 1280×768."""
    kwargs: Any = {
        "model": "gemini-2.5-flash-image",
        "messages": [{"role": "user", "content": "Draw a fox"}],
        "extra_body": {"aspect_ratio": "5:3"},
    }
    if stream:
        chunks = list(sdk(stack).chat.completions.create(stream=True, **kwargs))
        urls = [
            item["image_url"]["url"]
            for c in chunks
            if c.choices
            for item in extra(c.choices[0].delta, "images") or []
        ]
        images = [Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) for url in urls]
    else:
        images = _decoded_images(sdk(stack).chat.completions.create(**kwargs).choices[0].message)
    assert [image.size for image in images] == [(1280, 768)]
    assert images[0].format == "JPEG"
    config = stack.upstream_requests("enerateContent")[-1]["body"]["request"]["generationConfig"]
    assert config["imageConfig"]["aspectRatio"] == "16:9"


def test_code_execution(stack: Stack) -> None:
    answer = sdk(stack).chat.completions.create(
        model="gemini-2.5-flash",
        messages=[{"role": "user", "content": "Compute 2+2 with code"}],
        tools=[{"type": "function", "function": {"name": "codeExecution"}}],
    )
    content = answer.choices[0].message.content or ""
    assert "```python" in content and "```output" in content
    assert answer.choices[0].finish_reason == "stop"
    tools = stack.upstream_requests("enerateContent")[-1]["body"]["request"]["tools"]
    assert {"codeExecution": {}} in tools


def test_response_format_json_schema(stack: Stack) -> None:
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {"name": {"type": "string", "const": "x"}, "age": {"type": ["integer", "null"]}},
        "required": ["name"],
        "additionalProperties": False,
    }
    answer = sdk(stack).chat.completions.create(
        model="gemini-2.5-flash",
        messages=[{"role": "user", "content": "Give me a person"}],
        response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": schema}},
    )
    assert answer.choices[0].message.content
    config = stack.upstream_requests("enerateContent")[-1]["body"]["request"]["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    sent = config["responseSchema"]
    assert "$schema" not in sent and set(sent["properties"]) == {"name", "age"}
    assert sent["properties"]["age"] == {"type": "integer", "nullable": True}


def test_todays_image_model_takes_the_new_ratios_as_they_are(stack: Stack) -> None:
    """Gemini 3.1 Flash Image adds 1:4, 4:1, 1:8 and 8:1 (§12.5): asked as such, never cropped."""
    answer = sdk(stack).chat.completions.create(
        model="gemini-3-pro-image",
        messages=[{"role": "user", "content": "Draw a tall tower"}],
        extra_body={"aspect_ratio": "1:8"},
    )
    (image,) = _decoded_images(answer.choices[0].message)
    width, height = image.size
    assert abs(height / width - 8) < 0.1, image.size
    sent = stack.upstream_requests("enerateContent")[-1]["body"]
    assert sent["model"] == "gemini-3.1-flash-image" and sent["requestType"] == "image_gen"
    assert sent["request"]["generationConfig"] == {
        "candidateCount": 1,
        "imageConfig": {"aspectRatio": "1:8", "imageSize": "1K"},
    }
