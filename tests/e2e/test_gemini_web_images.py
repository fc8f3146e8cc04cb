"""OpenAI images on Gemini web: the `openai` SDK and the contract's curl forms, against the emulator."""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from PIL import Image

from tests.web_stack import WebStack, web_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebStack]:
    with web_stack(tmp_path_factory.mktemp("web-images")) as running:
        yield running


def _png(tmp_path: Path, name: str = "cat.png") -> Path:
    path = tmp_path / name
    Image.new("RGB", (64, 64), (250, 120, 20)).save(path)
    return path


def _size_of(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def test_generate_default_is_the_1k_image_as_b64(stack: WebStack) -> None:
    result = stack.client().images.generate(model="gemini-2.5-flash-imagen", prompt="a lighthouse at dusk")
    assert result.data and result.data[0].b64_json
    assert _size_of(base64.b64decode((result.data or [])[0].b64_json or "")) == (1024, 1024)
    assert "lighthouse" in ((result.data or [])[0].revised_prompt or "")
    assert result.created > 0


def test_size_yields_exactly_that_size_and_n_images(stack: WebStack) -> None:
    result = stack.client().images.generate(
        model="gemini-3-pro-imagen",
        prompt="a fox in the snow",
        size="1920x1080",
        n=2,
    )
    data = result.data or []
    assert len(data) == 2
    assert all(_size_of(base64.b64decode(d.b64_json or "")) == (1920, 1080) for d in data)


def test_return_origin_image_is_the_larger_original(stack: WebStack) -> None:
    response = httpx.post(
        f"{stack.base_url}/images/generations",
        headers={"Authorization": f"Bearer {stack.key}"},
        json={"model": "gemini-2.5-flash-imagen", "prompt": "a red barn", "return_origin_image": True},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert _size_of(base64.b64decode(response.json()["data"][0]["b64_json"])) == (2048, 2048)


def test_url_format_is_served_by_the_gateway(stack: WebStack) -> None:
    result = stack.client().images.generate(
        model="gemini-2.5-flash-imagen", prompt="a blue boat", response_format="url"
    )
    url = (result.data or [])[0].url or ""
    assert url.startswith(stack.gateway + "/gemini_official/v1/files/")
    image = httpx.get(url)
    assert image.status_code == 200 and _size_of(image.content) == (1024, 1024)
    assert httpx.get(url[:-4] + "AAAA").status_code == 404  # a forged token is refused


def test_edit_with_the_sdk(stack: WebStack, tmp_path: Path) -> None:
    with _png(tmp_path).open("rb") as image:
        result = stack.client().images.edit(
            model="gemini-2.5-flash-imagen", image=image, prompt="add a wizard hat"
        )
    assert (result.data or [])[0].b64_json
    uploads = [r for r in stack.requests() if r["host"] == "content-push.googleapis.com"]
    assert uploads


def test_non_imagen_model_is_refused(stack: WebStack) -> None:
    with pytest.raises(openai.BadRequestError, match="-imagen"):
        stack.client().images.generate(model="gemini-3-pro", prompt="a cat")


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_contract_curl_forms_work_as_written(stack: WebStack, tmp_path: Path) -> None:
    generated = subprocess.run(
        [
            "curl", "-sS", f"{stack.base_url}/images/generations",
            "-H", f"Authorization: Bearer {stack.key}",
            "--form", "prompt=a cat", "--form", "model=gemini-2.5-flash-imagen",
        ],
        capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    assert json.loads(generated.stdout)["data"][0]["b64_json"]
    picture = _png(tmp_path, "file.png")
    edited = subprocess.run(
        [
            "curl", "-sS", f"{stack.base_url}/images/edits",
            "-H", f"Authorization: Bearer {stack.key}",
            "--form", f"image[]=@{picture}", "--form", f"image[]=@{picture}",
            "--form", "prompt=make it blue", "--form", "model=gemini-2.5-flash-imagen",
        ],
        cwd=tmp_path, capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    body = json.loads(edited.stdout)
    assert body["data"][0]["b64_json"], body
