"""Property test: every tool schema the gateway sends passes the Cloud Code emulator's own checks.

`test_schema.py` checks cleaned schemas against our allow-list; this checks the whole way a client's
tool reaches the upstream (`to_gemini_request`, then the provider's envelope) against the emulator's
proto parser and post-parse validation, which are written from the protocol notes, not from our
cleaner — so the two lists cannot drift apart unnoticed (field-notes 4). Property names must survive.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from switchyard.emulators.cloudcode_errors import CloudCodeError
from switchyard.emulators.cloudcode_proto import check_payload
from switchyard.emulators.cloudcode_validate import validate_generation
from switchyard.providers.antigravity import Catalogue
from switchyard.providers.antigravity.protocol import build_envelope
from switchyard.providers.antigravity.request_fit import fit_request
from switchyard.translate import to_gemini_request
from tests.translate.test_schema import ROOTS, SCHEMAS, output_paths, plain_property_paths

MODELS = ["gemini-3-pro-high", "gemini-2.5-flash", "claude-sonnet-4-5-thinking", "claude-sonnet-4-5"]
CATALOGUE = Catalogue.from_files()


def _envelope(model: str, body: dict[str, Any]) -> dict[str, Any]:
    """What the gateway would send upstream for `body` (an OpenAI chat request) on `model`."""
    spec = CATALOGUE.resolve(model)
    request = to_gemini_request(body, model=spec.profile())
    return build_envelope(
        project="emulated-project",
        upstream_model=spec.upstream_id,
        request=fit_request(request, spec),
        request_type=spec.request_type,
    )


def _assert_accepted(envelope: dict[str, Any]) -> None:
    try:
        check_payload(envelope)
        validate_generation(envelope["model"], envelope["request"])
    except CloudCodeError as error:
        pytest.fail(f"the emulator refused the request: {error.body}")


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parameters=ROOTS, nested=SCHEMAS, model=st.sampled_from(MODELS))
def test_tool_schemas_pass_the_emulator_and_keep_property_names(
    parameters: dict[str, Any], nested: dict[str, Any], model: str
) -> None:
    second = {"type": "object", "properties": {"value": nested}, "required": ["value"]}
    tools = [
        {"type": "function", "function": {"name": "first_tool", "parameters": parameters}},
        {
            "type": "function",
            "function": {
                "name": "second_tool",
                "parameters": second,
            },
        },
    ]
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], "tools": tools}
    envelope = _envelope(model, body)
    _assert_accepted(envelope)
    declarations = envelope["request"]["tools"][0]["functionDeclarations"]
    assert [d["name"] for d in declarations] == ["first_tool", "second_tool"]
    assert plain_property_paths(parameters) <= output_paths(declarations[0]["parameters"])
    assert plain_property_paths(second) <= output_paths(declarations[1]["parameters"])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=ROOTS)
def test_response_schemas_pass_the_emulator_and_keep_property_names(schema: dict[str, Any]) -> None:
    body = {
        "model": "gemini-2.5-flash",
        "messages": [{"role": "user", "content": "hi"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "out", "schema": schema}},
    }
    envelope = _envelope("gemini-2.5-flash", body)
    _assert_accepted(envelope)
    assert plain_property_paths(schema) <= output_paths(
        envelope["request"]["generationConfig"]["responseSchema"]
    )
