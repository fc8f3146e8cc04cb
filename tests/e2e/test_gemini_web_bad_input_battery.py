"""Generated bad input on the Gemini web routes (issue 17, "done means"): never a 5xx, every error
in the OpenAI dialect."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.surfaces.test_bad_input_battery import (
    BATTERY,
    OPENAI_FIELDS,
    OPENAI_MESSAGE_FIELDS,
    check_answer,
    json_values,
    mutated,
)
from tests.web_stack import web_stack


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    with (
        web_stack(tmp_path_factory.mktemp("web-battery"), accounts_count=1) as stack,
        httpx.Client(
            base_url=stack.base_url, headers={"Authorization": f"Bearer {stack.key}"}, timeout=60
        ) as http,
    ):
        yield http


@BATTERY
@given(
    body=mutated(
        {"model": "gemini-3-pro", "messages": [{"role": "user", "content": "hi"}]},
        OPENAI_FIELDS,
        "messages",
        OPENAI_MESSAGE_FIELDS,
    )
)
def test_web_chat_route(client: httpx.Client, body: Any) -> None:
    check_answer(client.post("/chat/completions", json=body), "openai")


IMAGE_FIELDS = ["model", "prompt", "n", "size", "response_format", "return_origin_image"]


@BATTERY
@given(
    fields=st.dictionaries(st.sampled_from(IMAGE_FIELDS), json_values, max_size=4),
    as_form=st.booleans(),
)
def test_image_generation_route(client: httpx.Client, fields: dict[str, Any], as_form: bool) -> None:
    body = {"model": "gemini-3-pro-imagen", "prompt": "a cat", **fields}
    if as_form:
        form = {name: str(value) for name, value in body.items()}
        answer = client.post(
            "/images/edits", data=form, files={"image": ("a.png", b"not an image", "image/png")}
        )
    else:
        answer = client.post("/images/generations", json=body)
    check_answer(answer, "openai")
