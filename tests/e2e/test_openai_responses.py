"""The Responses API through the official `openai` SDK against `switchyard demo`, on both providers.

Tool loops run on the emulator's scripted answers; the Cloud Code emulator checks what the real
backend checks on the second round (Gemini 3: the call's own thought signature; Claude: its signed
thinking block), so a `store: false` loop passes only if `encrypted_content` carried them.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from openai import BadRequestError, NotFoundError, OpenAI
from PIL import Image

Demo = tuple[str, str, str]
TOOLS: Any = [
    {
        "type": "function",
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    }
]
PATCH: Any = {
    "type": "custom",
    "name": "apply_patch",
    "description": "Apply a patch to files",
    "format": {"type": "grammar", "syntax": "lark", "definition": "start: begin_patch\nbegin_patch: /.+/"},
}


@pytest.fixture
def client(demo: Demo) -> Iterator[OpenAI]:
    gateway, _, key = demo
    with OpenAI(base_url=f"{gateway}/antigravity/v1", api_key=key, max_retries=0) as sdk:
        yield sdk


@pytest.fixture
def web(demo: Demo) -> Iterator[OpenAI]:
    gateway, _, key = demo
    with OpenAI(base_url=f"{gateway}/gemini_official/v1", api_key=key, max_retries=0) as sdk:
        yield sdk


def _script(demo: Demo, model: str, *replies: dict[str, Any]) -> None:
    _, control, _ = demo
    answer = httpx.post(
        f"{control}/antigravity/_control/script", json={"match": {"model": model}, "replies": list(replies)}
    )
    answer.raise_for_status()


def test_text_non_stream_and_usage(client: OpenAI) -> None:
    response = client.responses.create(
        model="gemini-2.5-flash", instructions="Be brief.", input="Hello narwhal"
    )
    assert response.status == "completed" and "Hello narwhal" in response.output_text
    assert response.usage is not None and response.usage.input_tokens > 0 and response.usage.output_tokens > 0
    assert response.usage.input_tokens_details.cached_tokens == 0


@pytest.mark.parametrize("base", ["client", "web"])
def test_stream_events_in_order(base: str, request: pytest.FixtureRequest) -> None:
    sdk: OpenAI = request.getfixturevalue(base)
    model = "gemini-3-flash" if base == "client" else "gemini-3-pro"
    events = list(sdk.responses.create(model=model, input="Tell me about the okapi", stream=True))
    kinds = [event.type for event in events]
    assert kinds[:2] == ["response.created", "response.in_progress"]
    assert kinds[-1] == "response.completed"
    assert [event.sequence_number for event in events] == list(range(len(events)))
    for needed in (
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
    ):
        assert needed in kinds
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert "okapi" in text and events[-1].response.usage is not None  # type: ignore[union-attr]


@pytest.mark.parametrize("model", ["gemini-3-flash", "claude-sonnet-4-6"])
@pytest.mark.parametrize("stream", [False, True])
def test_store_false_tool_loop_replays_signatures(
    client: OpenAI, demo: Demo, model: str, stream: bool
) -> None:
    _script(
        demo,
        model,
        {"function_call": {"name": "get_weather", "args": {"city": "Paris"}}},
        {"text": "It is sunny in Paris."},
    )
    common: Any = {
        "model": model,
        "tools": TOOLS,
        "store": False,
        "include": ["reasoning.encrypted_content"],
        "reasoning": {"effort": "medium", "summary": "auto"},
    }
    first_input: Any = [{"role": "user", "content": "Weather in Paris?"}]
    if stream:
        events = list(client.responses.create(input=first_input, stream=True, **common))
        assert "response.function_call_arguments.done" in [e.type for e in events]
        output = events[-1].response.output  # type: ignore[union-attr]
    else:
        output = client.responses.create(input=first_input, **common).output
    items = [item.model_dump(exclude_none=True) for item in output]
    reasoning = [item for item in items if item["type"] == "reasoning"]
    calls = [item for item in items if item["type"] == "function_call"]
    assert reasoning and reasoning[0]["encrypted_content"] and calls
    assert orjson.loads(calls[0]["arguments"]) == {"city": "Paris"}
    follow = [
        *first_input,
        *items,
        {"type": "function_call_output", "call_id": calls[0]["call_id"], "output": "sunny"},
    ]
    second = client.responses.create(input=follow, **common)
    assert second.output_text == "It is sunny in Paris."
    with pytest.raises(NotFoundError):
        client.responses.retrieve(second.id)  # store: false keeps nothing


def test_previous_response_id_with_store(client: OpenAI, demo: Demo) -> None:
    model = "gemini-3-flash"
    _script(
        demo,
        model,
        {"function_call": {"name": "get_weather", "args": {"city": "Rome"}}},
        {"text": "Rome is warm."},
    )
    first = client.responses.create(model=model, input="Weather in Rome?", tools=TOOLS)
    call = next(item for item in first.output if item.type == "function_call")
    second = client.responses.create(
        model=model,
        previous_response_id=first.id,
        tools=TOOLS,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "warm"}],
    )
    assert second.output_text == "Rome is warm." and second.previous_response_id == first.id
    assert client.responses.retrieve(first.id).output[-1].type == "function_call"
    client.responses.delete(first.id)
    with pytest.raises(NotFoundError):
        client.responses.retrieve(first.id)


@pytest.mark.parametrize("stream", [False, True])
def test_custom_tool_call(client: OpenAI, demo: Demo, stream: bool) -> None:
    patch = "*** Begin Patch\n*** Add File: a.txt\n+hi\n*** End Patch"
    _script(demo, "gemini-3-flash", {"function_call": {"name": "apply_patch", "args": {"input": patch}}})
    if stream:
        events = list(
            client.responses.create(model="gemini-3-flash", input="Add a.txt", tools=[PATCH], stream=True)
        )
        done = [e for e in events if e.type == "response.custom_tool_call_input.done"]
        assert done and done[0].input == patch  # type: ignore[union-attr]
        output = events[-1].response.output  # type: ignore[union-attr]
    else:
        output = client.responses.create(model="gemini-3-flash", input="Add a.txt", tools=[PATCH]).output
    call = next(item for item in output if item.type == "custom_tool_call")
    assert call.name == "apply_patch" and call.input == patch  # type: ignore[union-attr]


@pytest.mark.parametrize("base", ["client", "web"])
def test_image_input(base: str, request: pytest.FixtureRequest) -> None:
    sdk: OpenAI = request.getfixturevalue(base)
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "PNG")
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    model = "gemini-3-flash" if base == "client" else "gemini-3-pro"
    response = sdk.responses.create(
        model=model,
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "Describe the picture"},
                    {"type": "input_image", "image_url": url, "detail": "auto"},
                ],
            }
        ],
    )
    assert response.status == "completed" and response.output_text


def test_json_schema_output(client: OpenAI, demo: Demo) -> None:
    _script(demo, "gemini-3-flash", {"text": '{"city": "Oslo"}'})
    response = client.responses.create(
        model="gemini-3-flash",
        input="Name a city",
        text={
            "format": {
                "type": "json_schema",
                "name": "city",
                "schema": {"type": "object", "properties": {"city": {"type": "string"}}},
            }
        },
    )
    assert orjson.loads(response.output_text) == {"city": "Oslo"}


def test_json_schema_is_refused_on_gemini_web(web: OpenAI) -> None:
    with pytest.raises(BadRequestError) as caught:
        web.responses.create(model="gemini-3-pro", input="x", text={"format": {"type": "json_object"}})
    assert caught.value.body["param"] == "text.format"  # type: ignore[index]


@pytest.mark.parametrize("base", ["client", "web"])
def test_hosted_tool_is_refused_by_name(base: str, request: pytest.FixtureRequest) -> None:
    sdk: OpenAI = request.getfixturevalue(base)
    model = "gemini-3-flash" if base == "client" else "gemini-3-pro"
    with pytest.raises(BadRequestError) as caught:
        sdk.responses.create(
            model=model, input="x", tools=[{"type": "file_search", "vector_store_ids": ["v"]}]
        )
    assert "file_search" in caught.value.message


def test_web_function_tool_loop(web: OpenAI) -> None:
    response = web.responses.create(model="gemini-3-pro", input="What is the weather in Paris?", tools=TOOLS)
    assert response.status == "completed" and response.output
