"""Real clients against the gateway on the emulators (issue 13): google-genai (v1 and v1beta),
langchain-google-genai and openai — two-turn tool loops on a Claude thinking model and on Gemini
3.x, stream and non-stream, also with the second turn sent to a restarted gateway; image in,
image-to-image, structured output."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from google import genai
from google.genai import types
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_google_genai import ChatGoogleGenerativeAI
from PIL import Image
from pydantic import BaseModel

from switchyard.app import create_app
from tests.e2e.test_openai_chat import sdk
from tests.servers import serve
from tests.stack import Stack

MODELS = ["claude-sonnet-4-6", "gemini-3-flash"]
WEATHER = types.FunctionDeclaration(
    name="get_weather",
    description="The weather in a city",
    parameters_json_schema={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
)


@contextmanager
def restarted(stack: Stack) -> Iterator[None]:
    """The gateway as after a restart: a fresh process state on the same store."""
    with serve(create_app(stack.settings)) as fresh:
        stack.gateway, first = fresh, stack.gateway
        try:
            yield
        finally:
            stack.gateway = first


def _genai(stack: Stack, key: str, version: str) -> genai.Client:
    return genai.Client(
        api_key=key,
        http_options=types.HttpOptions(base_url=stack.gateway + "/antigravity", api_version=version),
    )


def _genai_turn(client: genai.Client, model: str, contents: list[Any], stream: bool) -> types.Content:
    config = types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=[WEATHER])],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    if not stream:
        answer = client.models.generate_content(model=model, contents=contents, config=config)
        assert answer.candidates and answer.candidates[0].content
        return answer.candidates[0].content
    chunks = list(client.models.generate_content_stream(model=model, contents=contents, config=config))
    assert chunks[-1].candidates and chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert chunks[-1].usage_metadata is not None, "finish reason and usage in the last chunk"
    parts = [
        p
        for c in chunks
        if c.candidates and c.candidates[0].content
        for p in c.candidates[0].content.parts or []
    ]
    return types.Content(role="model", parts=parts)


@pytest.mark.parametrize("restart", [False, True], ids=["same", "restarted"])
@pytest.mark.parametrize("stream", [False, True], ids=["unary", "stream"])
@pytest.mark.parametrize("version", ["v1beta", "v1"])
@pytest.mark.parametrize("model", MODELS)
def test_google_genai_tool_loop(stack: Stack, model: str, version: str, stream: bool, restart: bool) -> None:
    key = stack.create_key()
    question = types.Content(role="user", parts=[types.Part.from_text(text="Weather in Paris?")])
    client = _genai(stack, key, version)  # held: a collected Client closes its transport
    turn = _genai_turn(client, model, [question], stream)
    calls = [part.function_call for part in turn.parts or [] if part.function_call]
    assert calls and calls[0].name == "get_weather"
    result = types.Content(
        role="user", parts=[types.Part.from_function_response(name="get_weather", response={"temp_c": 21})]
    )
    with restarted(stack) if restart else _nothing():
        second = _genai(stack, key, version)
        answer = second.models.generate_content(
            model=model,
            contents=[question, turn, result],
            config=types.GenerateContentConfig(tools=[types.Tool(function_declarations=[WEATHER])]),
        )
    assert "temp_c" in (answer.text or "")


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _png(color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    image = Image.new("RGB", (64, 64), color)
    image.paste((0, 0, 255), (32, 0, 64, 64))
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("version", ["v1beta", "v1"])
def test_google_genai_image_in_and_image_to_image(stack: Stack, version: str) -> None:
    client = _genai(stack, stack.create_key(), version)
    picture = types.Part.from_bytes(data=_png((255, 0, 0)), mime_type="image/png")
    described = client.models.generate_content(model="gemini-3-flash", contents=[picture, "Describe it"])
    assert described.text
    edited = client.models.generate_content(
        model="gemini-3.1-flash-image",
        contents=[picture, "Mirror this picture"],
        config=types.GenerateContentConfig(response_modalities=["TEXT", "IMAGE"]),
    )
    images = [p.inline_data for p in edited.candidates[0].content.parts if p.inline_data]  # type: ignore[index,union-attr]
    assert images and images[0].data
    left = Image.open(io.BytesIO(images[0].data)).convert("RGB").getpixel((5, 5))
    assert isinstance(left, tuple) and left[2] > 200 > left[0], "the blue half came back on the left"


class City(BaseModel):
    name: str
    population: int
    landmarks: list[str]


@pytest.mark.parametrize("model", MODELS)
def test_google_genai_structured_output(stack: Stack, model: str) -> None:
    client = _genai(stack, stack.create_key(), "v1beta")
    answer = client.models.generate_content(
        model=model,
        contents="Describe Paris",
        config=types.GenerateContentConfig(response_mime_type="application/json", response_schema=City),
    )
    assert isinstance(answer.parsed, City) and answer.parsed.landmarks


def _langchain(stack: Stack, key: str, model: str) -> ChatGoogleGenerativeAI:
    return ChatGoogleGenerativeAI(
        model=model, google_api_key=key, base_url=stack.gateway + "/antigravity", max_retries=0
    )


def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


@pytest.mark.parametrize("restart", [False, True], ids=["same", "restarted"])
@pytest.mark.parametrize("stream", [False, True], ids=["unary", "stream"])
@pytest.mark.parametrize("model", MODELS)
def test_langchain_tool_loop(stack: Stack, model: str, stream: bool, restart: bool) -> None:
    key = stack.create_key()
    llm = _langchain(stack, key, model).bind_tools([get_weather])
    messages: list[Any] = [HumanMessage("Weather in Paris?")]
    if stream:
        first: Any = None
        for chunk in llm.stream(messages):
            first = chunk if first is None else first + chunk
    else:
        first = llm.invoke(messages)
    assert first.tool_calls and first.tool_calls[0]["name"] == "get_weather"
    messages += [first, ToolMessage(get_weather("Paris"), tool_call_id=first.tool_calls[0]["id"])]
    with restarted(stack) if restart else _nothing():
        answer = _langchain(stack, key, model).bind_tools([get_weather]).invoke(messages)
    assert "sunny in Paris" in str(answer.content)


@pytest.mark.parametrize("model", MODELS)
def test_langchain_structured_output(stack: Stack, model: str) -> None:
    city = _langchain(stack, stack.create_key(), model).with_structured_output(City).invoke("Describe Paris")
    assert isinstance(city, City) and city.landmarks


@pytest.mark.parametrize("model", MODELS)
def test_openai_structured_output(stack: Stack, model: str) -> None:
    answer = sdk(stack).chat.completions.parse(
        model=model, messages=[{"role": "user", "content": "Describe Paris"}], response_format=City
    )
    parsed = answer.choices[0].message.parsed
    assert isinstance(parsed, City) and parsed.landmarks


def test_openai_image_in(stack: Stack) -> None:
    url = "data:image/png;base64," + base64.b64encode(_png((255, 0, 0))).decode()
    answer = sdk(stack).chat.completions.create(
        model="gemini-3-flash",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Describe"},
                    {"type": "image_url", "image_url": {"url": url}},
                ],
            }
        ],
    )
    assert answer.choices[0].message.content
