"""Cloud Code emulator (issue 13): bytes fields in all four base64 forms (§12.7), JSON mode."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from switchyard.emulators.cloudcode import create_app
from tests.emulators.test_cloudcode_support import (
    CloudCode,
    ask,
    parts_of,
    served,
    sse_events,
    user,
    weather_tool,
)
from tests.servers import serve


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve(create_app()) as base:
        yield base


@pytest.fixture
def cc(server: str) -> Iterator[CloudCode]:
    yield from served(server)


def _forms(standard: str) -> list[str]:
    urlsafe = standard.replace("+", "-").replace("/", "_")
    return [standard, standard.rstrip("="), urlsafe, urlsafe.rstrip("=")]


def _signed_call(cc: CloudCode) -> dict[str, Any]:
    """A Gemini 3 call whose signature holds `+` or `/`, so the URL-safe forms differ."""
    for city in range(40):
        answer = cc.generate("gemini-3.1-pro-low", ask(f"weather? {city}", tools=weather_tool()))
        call = next(part for part in parts_of(answer.json()) if "functionCall" in part)
        signature = call["thoughtSignature"]
        if "+" in signature or "/" in signature:
            return call
    raise AssertionError("no signature with + or /")


def test_gemini3_signature_accepted_in_every_base64_form(cc: CloudCode) -> None:
    call = _signed_call(cc)
    for form in _forms(call["thoughtSignature"]):
        history = {
            "contents": [
                user("weather?"),
                {"role": "model", "parts": [{**call, "thoughtSignature": form}]},
                {
                    "role": "user",
                    "parts": [{"functionResponse": {"name": "get_weather", "response": {"t": 20}}}],
                },
            ],
            "tools": weather_tool(),
        }
        response = cc.generate("gemini-3.1-pro-low", history)
        assert response.status_code == 200, (form, response.text)


def test_image_to_image_takes_urlsafe_input(cc: CloudCode) -> None:
    image = Image.new("RGB", (64, 64), (255, 0, 0))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    for form in _forms(base64.b64encode(buffer.getvalue() * 1).decode()):
        request = {
            "contents": [
                {
                    "role": "user",
                    "parts": [{"text": "mirror it"}, {"inlineData": {"mimeType": "image/png", "data": form}}],
                }
            ],
            "generationConfig": {"imageConfig": {"aspectRatio": "1:1"}},
        }
        response = cc.generate("gemini-3.1-flash-image", request)
        assert response.status_code == 200, response.text


PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 3},
        "age": {"type": "integer", "minimum": 18},
        "tags": {"type": "array", "items": {"$ref": "#/$defs/Tag"}, "minItems": 2},
        "kind": {"enum": ["human", "robot"]},
        "nickname": {"anyOf": [{"type": "null"}, {"type": "string"}]},
    },
    "required": ["name", "age", "tags", "kind"],
    "additionalProperties": False,
    "$defs": {"Tag": {"type": "object", "properties": {"label": {"type": "string"}}, "required": ["label"]}},
}


def _json_text(cc: CloudCode, model: str, config: dict[str, Any], *, stream: bool) -> str:
    response = cc.generate(model, ask("describe a person", generationConfig=config), stream=stream)
    assert response.status_code == 200, response.text
    payloads = sse_events(response.text) if stream else [response.json()]
    return "".join(
        p.get("text", "") for payload in payloads for p in parts_of(payload) if not p.get("thought")
    )


@pytest.mark.parametrize("stream", [False, True], ids=["unary", "stream"])
@pytest.mark.parametrize("key", ["responseJsonSchema", "responseSchema"])
def test_json_mode_answers_a_value_valid_against_the_schema(cc: CloudCode, stream: bool, key: str) -> None:
    config = {"responseMimeType": "application/json", key: PERSON}
    text = _json_text(cc, "gemini-3-flash", config, stream=stream)
    value = json.loads(text)
    assert set(value) >= {"name", "age", "tags", "kind"}
    assert isinstance(value["name"], str) and len(value["name"]) >= 3
    assert isinstance(value["age"], int) and value["age"] >= 18
    assert len(value["tags"]) >= 2 and all(isinstance(tag["label"], str) for tag in value["tags"])
    assert value["kind"] in ("human", "robot")
    assert text == _json_text(cc, "gemini-3-flash", config, stream=stream)  # deterministic


def test_json_mode_without_schema_is_still_json(cc: CloudCode) -> None:
    text = _json_text(cc, "claude-sonnet-4-6", {"responseMimeType": "application/json"}, stream=False)
    assert isinstance(json.loads(text), dict)
