"""The official google-genai SDK against the gateway on the emulators (api-contract.md, issue 3)."""

from __future__ import annotations

import base64
import io
import shutil
import subprocess

import pytest
from google import genai
from google.genai import types
from PIL import Image

from tests.stack import Stack

PNG_1x1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def _client(stack: Stack, key: str) -> genai.Client:
    return genai.Client(api_key=key, http_options={"base_url": stack.gateway + "/antigravity"})


def test_sdk_text_and_stream(stack: Stack) -> None:
    client = _client(stack, stack.create_key())
    answer = client.models.generate_content(model="gemini-2.5-flash", contents="Say hello to the aardvark")
    assert "aardvark" in (answer.text or "")
    assert answer.usage_metadata is not None and (answer.usage_metadata.total_token_count or 0) > 0
    chunks = list(
        client.models.generate_content_stream(model="gemini-2.5-flash", contents="Stream about the wombat")
    )
    assert len(chunks) >= 2
    assert "wombat" in "".join(chunk.text or "" for chunk in chunks)


def test_sdk_image_input(stack: Stack) -> None:
    client = _client(stack, stack.create_key())
    answer = client.models.generate_content(
        model="gemini-2.5-flash",
        contents=[types.Part.from_bytes(data=PNG_1x1, mime_type="image/png"), "Describe this picture"],
    )
    assert answer.text
    sent = stack.upstream_requests(":generateContent")[-1]["body"]["request"]["contents"][0]["parts"]
    assert any("inlineData" in part or "inline_data" in part for part in sent)


def test_sdk_4k_image_output(stack: Stack) -> None:
    client = _client(stack, stack.create_key())
    answer = client.models.generate_content(
        model="gemini-3-pro-image",
        contents="Draw a lighthouse at dusk",
        config=types.GenerateContentConfig(
            response_modalities=["TEXT", "IMAGE"],
            image_config=types.ImageConfig(aspect_ratio="16:9", image_size="4K"),
        ),
    )
    images = [p.inline_data for p in answer.candidates[0].content.parts if p.inline_data]  # type: ignore[index,union-attr]
    assert images, "no image in the answer"
    picture = Image.open(io.BytesIO(images[0].data))  # type: ignore[arg-type]
    assert picture.size == (5504, 3072)
    envelope = stack.upstream_requests(":generateContent")[-1]["body"]
    assert envelope["requestType"] == "image_gen" and envelope["model"] == "gemini-3.1-flash-image"


def test_sdk_code_execution(stack: Stack) -> None:
    client = _client(stack, stack.create_key())
    answer = client.models.generate_content(
        model="gemini-2.5-flash",
        contents="Compute the sum of the first 10 primes with code",
        config=types.GenerateContentConfig(tools=[types.Tool(code_execution=types.ToolCodeExecution())]),
    )
    parts = answer.candidates[0].content.parts  # type: ignore[index,union-attr]
    assert any(p.executable_code for p in parts) and any(p.code_execution_result for p in parts)


CURL_EXAMPLES = [
    (
        "/antigravity/v1/chat/completions",
        "Authorization: Bearer {key}",
        '{"messages":[{"role":"user","content":"What model are you?"}],"model":"gemini-3-pro-low","stream":true}',
    ),
    (
        "/antigravity/v1beta/models/gemini-3-pro-low/generateContent",
        "X-Goog-Api-Key: Bearer {key}",
        '{"contents":[{"parts":[{"text":"What model are you?"}]}]}',
    ),
    (
        "/antigravity/v1beta/models/gemini-3-pro-image/generateContent",
        "X-Goog-Api-Key: Bearer {key}",
        '{"contents":[{"role":"user","parts":[{"text":"Draw a kitten"}]}],'
        '"generationConfig":{"responseModalities":["TEXT","IMAGE"],"imageConfig":{"aspectRatio":"1:1","imageSize":"4K"}}}',
    ),
]


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.parametrize(("path", "header", "body"), CURL_EXAMPLES[1:])
def test_contract_curl_examples(stack: Stack, path: str, header: str, body: str) -> None:
    key = stack.create_key()
    result = subprocess.run(
        [
            "curl",
            "-sS",
            "-w",
            "\n%{http_code}",
            stack.gateway + path,
            "-H",
            "Content-Type: application/json",
            "-H",
            header.format(key=key),
            "-d",
            body,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    payload, status = result.stdout.rsplit("\n", 1)
    assert status == "200", payload[:500]
    assert '"candidates"' in payload
