"""Today's Antigravity catalogue through the official SDKs on `switchyard demo` (issue: Antigravity as it is today).

Every id the accounts report and every name of the api-contract answers, stream and non-stream, on the
OpenAI and the Gemini-native surfaces; a model retired at run time is forwarded on the next request and its
"no longer available" text never reaches a client; a response header names the model that served it.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from google import genai
from google.genai import types
from openai import BadRequestError, OpenAI

from tests.providers.antigravity.test_catalogue import CONTRACT

REFUSALS = ("no longer available", "no longer supported", "not available on this version", "out of date")
UPSTREAM_HEADER = "x-switchyard-upstream-model"


def _openai(gateway: str, key: str) -> OpenAI:
    return OpenAI(api_key=key, base_url=f"{gateway}/antigravity/v1", max_retries=0, timeout=60)


def _genai(gateway: str, key: str) -> genai.Client:
    return genai.Client(
        api_key=key,
        http_options=types.HttpOptions(
            base_url=f"{gateway}/antigravity", api_version="v1beta", timeout=60_000
        ),
    )


def _no_refusal(text: str, model: str) -> None:
    assert text, f"{model}: empty answer"
    assert not any(phrase in text for phrase in REFUSALS), f"{model}: a refusal reached the client: {text!r}"


def _listed(gateway: str, key: str) -> list[str]:
    return [model.id for model in _openai(gateway, key).models.list()]


def test_the_listing_has_todays_ids_and_the_contract_names(demo: tuple[str, str, str]) -> None:
    gateway, _, key = demo
    listed = _listed(gateway, key)
    assert set(CONTRACT) <= set(listed)
    assert {
        "claude-sonnet-4-6",
        "claude-opus-4-6-thinking",
        "gemini-pro-agent",
        "gemini-3.1-flash-image",
    } <= set(listed)
    assert not [m for m in listed if m.startswith(("chat_", "tab_"))]
    google = httpx.get(f"{gateway}/antigravity/v1beta/models", params={"key": key, "pageSize": 1000}).json()
    assert [m["name"].removeprefix("models/") for m in google["models"]] == listed


def test_every_model_answers_on_the_openai_surface(demo: tuple[str, str, str]) -> None:
    gateway, _, key = demo
    client = _openai(gateway, key)
    for model in _listed(gateway, key):
        raw = client.chat.completions.with_raw_response.create(
            model=model, messages=[{"role": "user", "content": f"Say hello from {model}"}]
        )
        completion = raw.parse()
        message = completion.choices[0].message
        _no_refusal(message.content or "", model)
        if model in CONTRACT:
            assert raw.headers[UPSTREAM_HEADER] == CONTRACT[model], model
        stream = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": f"Stream hello from {model}"}], stream=True
        )
        chunks = list(stream)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        _no_refusal(text, model)
        assert chunks[-1].choices[0].finish_reason in ("stop", "length"), model


def test_every_model_answers_on_the_gemini_surface(demo: tuple[str, str, str]) -> None:
    gateway, _, key = demo
    client = _genai(gateway, key)
    for model in _listed(gateway, key):
        answer = client.models.generate_content(model=model, contents=f"Hello from {model}")
        parts = answer.candidates[0].content.parts if answer.candidates else []
        assert parts, model
        _no_refusal(answer.text or ("image" if any(p.inline_data for p in parts) else ""), model)
        pieces = list(client.models.generate_content_stream(model=model, contents=f"Stream from {model}"))
        assert pieces, model
        streamed = "".join(p.text or "" for p in pieces if p.candidates)
        has_image = any(
            part.inline_data for p in pieces if p.candidates for part in p.candidates[0].content.parts or []
        )
        _no_refusal(streamed or ("image" if has_image else ""), model)


def _retire(control: str, model: str, replacement: str, **extra: Any) -> None:
    httpx.post(
        f"{control}/antigravity/_control/retire", json={"model": model, "replacement": replacement, **extra}
    ).raise_for_status()


@pytest.mark.parametrize("stream", [False, True])
def test_a_model_retired_at_run_time_is_forwarded_on_the_next_request(
    demo: tuple[str, str, str], stream: bool
) -> None:
    gateway, control, key = demo
    model, replacement = (
        ("gemini-3.8-flash-low", "gemini-3.7-flash-low")
        if stream
        else ("gemini-3.6-flash-high", "gemini-3.7-flash-high")
    )
    client = _openai(gateway, key)
    httpx.post(f"{control}/antigravity/_control/reset").raise_for_status()
    try:
        _retire(control, model, replacement)
        for _ in range(2):  # the first request learns the retirement, the second is forwarded at once
            if stream:
                with client.chat.completions.with_streaming_response.create(
                    model=model, messages=[{"role": "user", "content": "Are you still there?"}], stream=True
                ) as response:
                    served = response.headers[UPSTREAM_HEADER]
                    text = "".join(c.choices[0].delta.content or "" for c in response.parse() if c.choices)
            else:
                raw = client.chat.completions.with_raw_response.create(
                    model=model, messages=[{"role": "user", "content": "Are you still there?"}]
                )
                served, text = raw.headers[UPSTREAM_HEADER], raw.parse().choices[0].message.content or ""
            _no_refusal(text, model)
            assert served == replacement
        generate_calls = [e["body"]["model"] for e in _upstream(control) if "enerateContent" in e["path"]]
        assert generate_calls.count(model) <= 1, "only the first request may reach the retired id"
    finally:
        httpx.post(f"{control}/antigravity/_control/reset").raise_for_status()


def _upstream(control: str) -> list[dict[str, Any]]:
    return httpx.get(f"{control}/antigravity/_control/requests").json()


RFC_LINE = "RFC 2119: MUST, REQUIRED, SHOULD, RECOMMENDED, MAY, OPTIONAL."


def test_the_content_filter_429_leaves_the_account_serving(demo: tuple[str, str, str]) -> None:
    """Cloud Code's bare 429 on a system prompt (§12.6): a known trigger is cloaked and served; an
    unknown one fails that request clearly; no account rests, so the next request is served."""
    gateway, control, key = demo
    client = _openai(gateway, key)
    httpx.post(f"{control}/antigravity/_control/reset").raise_for_status()
    try:
        system = f"You are a careful agent.\n{RFC_LINE}\nAnswer briefly."
        served = client.chat.completions.create(
            model="gemini-3-flash",
            messages=[{"role": "system", "content": system}, {"role": "user", "content": "hello"}],
        )
        _no_refusal(served.choices[0].message.content or "", "gemini-3-flash")
        httpx.post(
            f"{control}/antigravity/_control/content_filter", json={"phrases": ["house rules of the lab"]}
        ).raise_for_status()
        with pytest.raises(BadRequestError) as refused:
            client.chat.completions.create(
                model="gemini-3-flash",
                messages=[
                    {"role": "system", "content": "Follow the house rules of the lab."},
                    {"role": "user", "content": "hello"},
                ],
            )
        assert "content filter" in str(refused.value)
        genai_client = _genai(gateway, key)
        after = genai_client.models.generate_content(model="gemini-3-flash", contents="Still there?")
        _no_refusal(after.text or "", "gemini-3-flash")
        states = httpx.get(f"{gateway}/admin/api/accounts", headers={"Authorization": f"Bearer {key}"})
        assert states.status_code in (401, 403), "client keys are not admin keys"
    finally:
        httpx.post(f"{control}/antigravity/_control/reset").raise_for_status()
