"""Client input that used to become a 500 (issue 17 #6): each is a 400 in the route's dialect naming
the field, on the OpenAI and the Gemini-native routes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.stack import Stack, antigravity_stack

CHAT = "/antigravity/v1/chat/completions"
GENERATE = "/antigravity/v1beta/models/gemini-2.5-flash:generateContent"
MESSAGES = [{"role": "user", "content": "hi"}]
CONTENTS = [{"role": "user", "parts": [{"text": "hi"}]}]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with antigravity_stack(Path(tmp_path_factory.mktemp("bad-input")), accounts_count=1) as running:
        yield running


@pytest.fixture(scope="module")
def key(stack: Stack) -> str:
    return stack.create_key("bad-input")


def nested_schema(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"a": schema}}
    return schema


def openai_error(stack: Stack, key: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(
        stack.gateway + CHAT,
        headers={"Authorization": f"Bearer {key}"},
        json={"model": "gemini-2.5-flash", "messages": MESSAGES, **body},
        timeout=30,
    )
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    return error


def gemini_error(stack: Stack, key: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(stack.gateway + GENERATE, headers={"x-goog-api-key": key}, json=body, timeout=30)
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT" and error["code"] == 400
    return error


@pytest.mark.parametrize("levels", [130, 400])
def test_deeply_nested_schemas_are_refused_naming_the_field(stack: Stack, key: str, levels: int) -> None:
    schema = nested_schema(levels)
    tool = {"type": "function", "function": {"name": "f", "parameters": schema}}
    error = openai_error(stack, key, {"tools": [tool]})
    assert error["param"] == "tools[0].function.parameters" and "nest deeper" in error["message"]
    response_format = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
    error = openai_error(stack, key, {"response_format": response_format})
    assert error["param"].startswith("response_format.json_schema.schema")

    declarations = {"functionDeclarations": [{"name": "f", "parameters": schema}]}
    error = gemini_error(stack, key, {"contents": CONTENTS, "tools": [declarations]})
    assert "'tools[0].functionDeclarations[0]" in error["message"]
    for field in ("responseSchema", "responseJsonSchema"):
        config = {"responseMimeType": "application/json", field: schema}
        error = gemini_error(stack, key, {"contents": CONTENTS, "generationConfig": config})
        assert f"'generationConfig.{field}" in error["message"]


def test_a_schema_nested_reasonably_deep_is_still_served(stack: Stack, key: str) -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": nested_schema(20)}}
    response = httpx.post(
        stack.gateway + CHAT,
        headers={"Authorization": f"Bearer {key}"},
        json={"model": "gemini-2.5-flash", "messages": MESSAGES, "tools": [tool]},
        timeout=30,
    )
    assert response.status_code == 200, response.text


def test_a_seed_beyond_64_bits_is_refused(stack: Stack, key: str) -> None:
    error = openai_error(stack, key, {"seed": 2**80})
    assert error["param"] == "seed" and "64-bit" in error["message"]


@pytest.mark.parametrize("role", [{}, [], ["user"]])
def test_a_role_that_is_not_a_string_is_refused(stack: Stack, key: str, role: Any) -> None:
    error = gemini_error(stack, key, {"contents": [{"role": role, "parts": [{"text": "hi"}]}]})
    assert "contents[0].role" in error["message"]
