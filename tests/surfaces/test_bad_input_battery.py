"""A battery of generated bad input over the client routes (issue 17, "done means"): whatever a
client sends, the answer is never a 5xx, and every error is in its route's dialect."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.stack import Stack, antigravity_stack

EXAMPLES_PER_ROUTE = 500

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)

OPENAI_FIELDS = [
    "model",
    "messages",
    "stream",
    "tools",
    "tool_choice",
    "response_format",
    "seed",
    "n",
    "max_tokens",
    "temperature",
    "top_p",
    "stop",
    "reasoning_effort",
    "stream_options",
    "modalities",
    "logprobs",
]
OPENAI_MESSAGE_FIELDS = ["role", "content", "tool_calls", "tool_call_id", "name"]
GEMINI_FIELDS = ["contents", "tools", "toolConfig", "generationConfig", "systemInstruction", "safetySettings"]
GEMINI_CONTENT_FIELDS = ["role", "parts"]


def mutated(base: dict[str, Any], fields: list[str], inner_key: str, inner_fields: list[str]) -> Any:
    """`base` with some top-level fields and some fields of its first `inner_key` item replaced."""
    top = st.dictionaries(st.sampled_from(fields), json_values, max_size=3)
    inner = st.dictionaries(st.sampled_from(inner_fields), json_values, max_size=2)

    def build(changes: dict[str, Any], inner_changes: dict[str, Any]) -> dict[str, Any]:
        body = {**base, **changes}
        items = body.get(inner_key)
        if inner_changes and isinstance(items, list) and items and isinstance(items[0], dict):
            body[inner_key] = [{**items[0], **inner_changes}, *items[1:]]
        return body

    return st.builds(build, top, inner) | json_values


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with antigravity_stack(Path(tmp_path_factory.mktemp("battery")), accounts_count=1) as running:
        yield running


@pytest.fixture(scope="module")
def client(stack: Stack) -> Iterator[httpx.Client]:
    key = stack.create_key("battery")
    headers = {"Authorization": f"Bearer {key}", "x-goog-api-key": key}
    with httpx.Client(base_url=stack.gateway, headers=headers, timeout=30) as http:
        yield http


def check_answer(response: httpx.Response, dialect: str) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        error = response.json()["error"]
        if dialect == "google":
            assert error["code"] == response.status_code and error["status"], error
        else:
            assert error["type"] and "message" in error, error


BATTERY = settings(
    max_examples=EXAMPLES_PER_ROUTE,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
    derandomize=True,  # the same 2,000 requests every run: a red CI run is reproducible, never luck
)


@BATTERY
@given(
    body=mutated(
        {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}]},
        OPENAI_FIELDS,
        "messages",
        OPENAI_MESSAGE_FIELDS,
    )
)
def test_openai_chat_route(client: httpx.Client, body: Any) -> None:
    check_answer(client.post("/antigravity/v1/chat/completions", json=body), "openai")


@BATTERY
@given(
    method=st.sampled_from(["generateContent", "streamGenerateContent", "countTokens"]),
    body=mutated(
        {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
        GEMINI_FIELDS,
        "contents",
        GEMINI_CONTENT_FIELDS,
    ),
)
def test_gemini_native_routes(client: httpx.Client, method: str, body: Any) -> None:
    check_answer(client.post(f"/antigravity/v1beta/models/gemini-2.5-flash:{method}", json=body), "google")
