"""Issue 15 against `switchyard demo` with the `openai` SDK: every contract model and suffix of the
Gemini web table, a conversation longer than the web app's request cap, a scripted tool loop, and
images, all through the demo's own port (emulator control under /_emulator/gemini-web)."""

from __future__ import annotations

import base64
import io
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import openai
import pytest
from PIL import Image

from switchyard.providers.gemini_web.models import UNSUPPORTED_SUFFIXES, listed_models

Demo = tuple[str, str, str]


def _client(demo: Demo) -> openai.OpenAI:
    gateway, _, key = demo
    return openai.OpenAI(base_url=f"{gateway}/gemini_official/v1", api_key=key, max_retries=0, timeout=60)


def _control(demo: Demo, path: str, body: Any = None) -> Any:
    _, control, _ = demo
    url = f"{control}/gemini-web/_control/{path}"
    response = httpx.post(url, json=body) if body is not None else httpx.get(url)
    response.raise_for_status()
    return response.json()


def _ask(client: openai.OpenAI, model: str) -> tuple[str, str]:
    try:
        answer = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "a red kite"}]
        )
    except openai.BadRequestError as refused:
        return model, f"400 {refused.message}"
    assert answer.model == model
    return model, answer.choices[0].message.content or ""


def test_every_contract_model_and_suffix(demo: Demo) -> None:
    client = _client(demo)
    with client, ThreadPoolExecutor(max_workers=8) as pool:
        answers = dict(pool.map(lambda model: _ask(client, model), listed_models()))
    for model, content in answers.items():
        unsupported = [s for s in UNSUPPORTED_SUFFIXES if model.endswith("-" + s)]
        if unsupported:
            assert content.startswith("400") and unsupported[0] in content, (model, content)
        elif model.endswith("-imagen"):
            assert "![image](" in content, (model, content)
        elif model.endswith("-video"):
            assert "[video](" in content, (model, content)
        elif model.endswith("-deepsearch"):
            assert "Research report" in content, (model, content)
        else:
            assert content.startswith("Echo: a red kite"), (model, content)
            assert ("3.1 Pro" if "pro" in model else "3.7 Flash") in content, (model, content)


def test_a_conversation_longer_than_the_cap_and_a_scripted_tool_loop(demo: Demo) -> None:
    client = _client(demo)
    messages: list[Any] = []
    for index in range(14):  # ~140 KB: over the web app's ~130 KB
        messages += [
            {"role": "user", "content": f"question {index} " + "z" * 10_000},
            {"role": "assistant", "content": f"answer {index}"},
        ]
    messages.append({"role": "user", "content": "THE NEWEST QUESTION"})
    with client:
        raw = client.chat.completions.with_raw_response.create(model="gemini-2.5-flash", messages=messages)
        assert "THE NEWEST QUESTION" in (raw.parse().choices[0].message.content or "")
        assert int(raw.headers["x-switchyard-history-trimmed"]) > 0
        assert raw.headers["x-switchyard-web-model"] == "3.7 Flash"

        call = '```tool_call\n{"name": "add", "arguments": {"a": 2, "b": 3}}\n```'
        _control(demo, "script", {"replies": [{"text": call}, {"text": "2 + 3 = 5."}]})
        tools: Any = [{"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}}]
        loop: list[Any] = [{"role": "user", "content": "What is 2 + 3? Use the tool."}]
        first = client.chat.completions.create(model="gemini-3-pro", messages=loop, tools=tools)
        calls = first.choices[0].message.tool_calls or []
        assert first.choices[0].finish_reason == "tool_calls" and json.loads(calls[0].function.arguments) == {
            "a": 2,
            "b": 3,
        }
        loop += [
            {"role": "assistant", "content": None, "tool_calls": [c.model_dump() for c in calls]},
            {"role": "tool", "tool_call_id": calls[0].id, "content": "5"},
        ]
        second = client.chat.completions.create(model="gemini-3-pro", messages=loop, tools=tools)
        assert second.choices[0].message.content == "2 + 3 = 5."


@pytest.mark.parametrize("origin", [False, True])
def test_images_hold_size_and_origin_and_say_what_the_model_said(demo: Demo, origin: bool) -> None:
    with _client(demo) as client:
        result = client.images.generate(
            model="gemini-3-pro-imagen",
            prompt="a lighthouse",
            size="1280x720",
            extra_body={"return_origin_image": origin},
        )
    entry = (result.data or [])[0]
    with Image.open(io.BytesIO(base64.b64decode(entry.b64_json or ""))) as image:
        assert image.size == (1280, 720)
    assert "lighthouse" in (entry.revised_prompt or "")
    assert "Generate an image" not in (entry.revised_prompt or "")
