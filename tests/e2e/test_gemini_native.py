"""The Gemini-native surface on Antigravity, through curl-like httpx calls and the google-genai SDK."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.stack import Stack, antigravity_stack


def _generate(
    stack: Stack, key: str, model: str = "gemini-2.5-flash", text: str = "hello there"
) -> httpx.Response:
    return httpx.post(
        f"{stack.gateway}/antigravity/v1beta/models/{model}:generateContent",
        headers={"x-goog-api-key": key},
        json={"contents": [{"role": "user", "parts": [{"text": text}]}]},
        timeout=30,
    )


def test_generate_content_round_trip(stack: Stack) -> None:
    key = stack.create_key()
    response = _generate(stack, key, text="what model are you, zebra-42?")
    assert response.status_code == 200, response.text
    answer = response.json()
    text = "".join(p.get("text", "") for p in answer["candidates"][0]["content"]["parts"])
    assert "zebra-42" in text
    assert answer["usageMetadata"]["totalTokenCount"] > 0
    sent = stack.upstream_requests(":generateContent")[-1]
    body = sent["body"]
    assert body["model"] == "gemini-3.1-flash-lite" and body["userAgent"] == "antigravity"
    assert response.headers["x-switchyard-upstream-model"] == "gemini-3.1-flash-lite"
    assert body["project"] and body["requestId"] and body["request"]["contents"][0]["parts"][0]["text"]
    assert sent["headers"]["authorization"].startswith("Bearer ")
    assert sent["account"] in {"antigravity-1", "antigravity-2"}


@pytest.mark.parametrize(
    "path", ["v1beta/models/gemini-2.5-flash/generateContent", "v1/models/gemini-2.5-flash:generateContent"]
)
def test_slash_form_and_v1_paths(stack: Stack, path: str) -> None:
    key = stack.create_key()
    response = httpx.post(
        f"{stack.gateway}/antigravity/{path}",
        headers={"X-Goog-Api-Key": f"Bearer {key}"},
        json={"contents": [{"parts": [{"text": "hi"}]}]},
        timeout=30,
    )
    assert response.status_code == 200, response.text


def test_stream_sse_delivers_several_events_without_done(stack: Stack) -> None:
    key = stack.create_key()
    with httpx.stream(
        "POST",
        f"{stack.gateway}/antigravity/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        headers={"x-goog-api-key": key},
        json={"contents": [{"role": "user", "parts": [{"text": "tell me a story about owls"}]}]},
        timeout=30,
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [orjson.loads(line[6:]) for line in response.iter_lines() if line.startswith("data: ")]
    assert len(events) >= 2
    assert all("candidates" in e or "usageMetadata" in e for e in events)
    assert any(c.get("finishReason") for e in events for c in e.get("candidates", []))


def test_stream_without_alt_is_a_json_array(stack: Stack) -> None:
    key = stack.create_key()
    response = httpx.post(
        f"{stack.gateway}/antigravity/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        headers={"x-goog-api-key": key},
        json={"contents": [{"parts": [{"text": "count to three"}]}]},
        timeout=30,
    )
    assert response.status_code == 200
    items = response.json()
    assert isinstance(items, list) and len(items) >= 2


def test_count_tokens(stack: Stack) -> None:
    key = stack.create_key()
    response = httpx.post(
        f"{stack.gateway}/antigravity/v1beta/models/gemini-2.5-flash:countTokens",
        headers={"x-goog-api-key": key},
        json={"contents": [{"parts": [{"text": "one two three four five six seven eight"}]}]},
    )
    assert response.status_code == 200, response.text
    assert response.json()["totalTokens"] > 0


def test_missing_or_wrong_key_is_401_in_google_dialect(stack: Stack) -> None:
    for headers in ({}, {"x-goog-api-key": "sk-sy-wrong"}):
        response = httpx.post(
            f"{stack.gateway}/antigravity/v1beta/models/gemini-2.5-flash:generateContent",
            headers=headers,
            json={"contents": [{"parts": [{"text": "hi"}]}]},
        )
        assert response.status_code == 401
        assert response.json()["error"]["status"] == "UNAUTHENTICATED"


def test_upstream_validation_error_reaches_the_client_in_google_dialect(stack: Stack) -> None:
    key = stack.create_key()
    response = _generate(stack, key, model="no-such-model")
    assert response.status_code == 404
    assert response.json()["error"]["status"] == "NOT_FOUND"
    bad = httpx.post(
        f"{stack.gateway}/antigravity/v1beta/models/gemini-2.5-flash:generateContent",
        headers={"x-goog-api-key": key},
        json={"contents": []},
    )
    assert bad.status_code == 400 and "contents" in bad.json()["error"]["message"]


def test_image_to_image_at_2k(stack: Stack) -> None:
    import base64
    import io

    from PIL import Image

    source = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(source, format="PNG")
    key = stack.create_key()
    response = httpx.post(
        f"{stack.gateway}/antigravity/v1beta/models/gemini-3-pro-image:generateContent",
        headers={"x-goog-api-key": key},
        json={
            "contents": [
                {
                    "role": "user",
                    "parts": [
                        {"text": "Make this picture look like a watercolour"},
                        {
                            "inline_data": {
                                "mime_type": "image/png",
                                "data": base64.b64encode(source.getvalue()).decode(),
                            }
                        },
                    ],
                }
            ],
            "generationConfig": {
                "responseModalities": ["TEXT", "IMAGE"],
                "imageConfig": {"aspectRatio": "3:2", "imageSize": "2K"},
            },
        },
        timeout=60,
    )
    assert response.status_code == 200, response.text
    parts = response.json()["candidates"][0]["content"]["parts"]
    images = [p["inlineData"] for p in parts if "inlineData" in p]
    picture = Image.open(io.BytesIO(base64.b64decode(images[0]["data"])))
    assert picture.size == (2528, 1696)


def test_expired_access_token_is_refreshed_before_the_upstream_call(tmp_path: Path) -> None:
    with antigravity_stack(tmp_path, accounts_count=1, token_lifetime_s=1) as stack:
        key = stack.create_key()
        for _ in range(2):
            assert _generate(stack, key).status_code == 200
            time.sleep(1.2)
        calls = stack.upstream_requests(":generateContent")
        assert (
            len(calls) == 2 and calls[0]["headers"]["authorization"] != calls[1]["headers"]["authorization"]
        )
        oauth_log = httpx.get(f"{stack.oauth}/_control/requests").json()
        refreshes = [
            e for e in oauth_log if e["path"] == "/token" and e["body"]["grant_type"] == "refresh_token"
        ]
        assert len(refreshes) >= 2
        assert refreshes[-1]["body"]["client_id"].endswith(".apps.googleusercontent.com")


def test_turns_of_one_conversation_stay_on_one_account(stack: Stack) -> None:
    key = stack.create_key()
    for topic in ("otters", "volcanoes", "lighthouses"):
        history = [{"role": "user", "parts": [{"text": f"Tell me about {topic}"}]}]
        for turn in range(3):
            response = httpx.post(
                f"{stack.gateway}/antigravity/v1beta/models/gemini-2.5-flash:generateContent",
                headers={"x-goog-api-key": key},
                json={"contents": history},
                timeout=30,
            )
            assert response.status_code == 200
            history += [
                response.json()["candidates"][0]["content"],
                {"role": "user", "parts": [{"text": f"and more, part {turn}"}]},
            ]
    by_topic: dict[str, set[str]] = {}
    for call in stack.upstream_requests(":generateContent"):
        first = call["body"]["request"]["contents"][0]["parts"][0]["text"]
        by_topic.setdefault(first, set()).add(call["account"])
    assert len(by_topic) == 3 and all(len(accounts) == 1 for accounts in by_topic.values()), by_topic


@pytest.mark.parametrize("include", [None, True])
def test_thought_parts_only_when_the_client_asks(stack: Stack, include: bool | None) -> None:
    key = stack.create_key()
    body: dict[str, object] = {"contents": [{"parts": [{"text": "Think about tides"}]}]}
    if include is not None:
        body["generationConfig"] = {"thinkingConfig": {"includeThoughts": include}}
    response = httpx.post(
        f"{stack.gateway}/antigravity/v1beta/models/gemini-3-pro-high:generateContent",
        headers={"x-goog-api-key": key},
        json=body,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    parts = response.json()["candidates"][0]["content"]["parts"]
    assert any(p.get("thought") for p in parts) is bool(include)
    assert any(p.get("text") and not p.get("thought") for p in parts)


@pytest.fixture
def slow_stack(tmp_path: Path) -> Iterator[Stack]:
    """A short keepalive interval and an upstream that pauses 350 ms between events."""
    with antigravity_stack(tmp_path, keepalive_interval_s=0.1) as running:
        httpx.post(f"{running.cloudcode}/_control/settings", json={"event_delay_ms": 350}).raise_for_status()
        yield running


def test_sse_stream_keeps_the_connection_alive_between_events(slow_stack: Stack) -> None:
    with httpx.stream(
        "POST",
        f"{slow_stack.gateway}/antigravity/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        headers={"x-goog-api-key": slow_stack.create_key()},
        json={"contents": [{"parts": [{"text": "tell me a story about owls"}]}]},
        timeout=30,
    ) as response:
        lines = [line for line in response.iter_lines() if line]
    data = [index for index, line in enumerate(lines) if line.startswith("data: ")]
    keepalives = [index for index, line in enumerate(lines) if line == ": keepalive"]
    assert len(data) >= 2 and keepalives, lines
    assert data[0] < keepalives[0] < data[-1], "keepalives came between events"


def test_json_array_stream_is_kept_alive_with_whitespace_and_stays_valid(slow_stack: Stack) -> None:
    response = httpx.post(
        f"{slow_stack.gateway}/antigravity/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        headers={"x-goog-api-key": slow_stack.create_key()},
        json={"contents": [{"parts": [{"text": "count to three"}]}]},
        timeout=30,
    )
    assert response.status_code == 200
    assert re.search(rb"\} +(,|\])", response.content), "keepalive spaces after an element"
    items = orjson.loads(response.content)
    assert isinstance(items, list) and len(items) >= 2


def test_a_client_that_leaves_ends_the_upstream_stream(slow_stack: Stack) -> None:
    httpx.post(f"{slow_stack.cloudcode}/_control/settings", json={"event_delay_ms": 1500}).raise_for_status()
    with httpx.stream(
        "POST",
        f"{slow_stack.gateway}/antigravity/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        headers={"x-goog-api-key": slow_stack.create_key()},
        json={"contents": [{"parts": [{"text": "a long story, please"}]}]},
        timeout=30,
    ) as response:
        lines = response.iter_lines()
        assert next(line for line in lines if line.startswith("data: "))
    deadline = time.monotonic() + 1
    while "switchyard_open_streams 0.0" not in httpx.get(slow_stack.gateway + "/metrics").text:
        assert time.monotonic() < deadline, "the gateway kept streaming to a client that left"
        time.sleep(0.05)
