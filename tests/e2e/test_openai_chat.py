"""OpenAI chat completions on Antigravity through the official `openai` SDK (and curl), on the emulators.

Text in both modes, reasoning, usage, errors in OpenAI's dialect, and streams that break: a broken
stream must reach the SDK as an error, never as a clean finish.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import orjson
import pytest
from openai import OpenAI

from tests.stack import Stack, antigravity_stack

CHAT_PATH = "/antigravity/v1/chat/completions"


def sdk(stack: Stack, key: str | None = None) -> OpenAI:
    """An SDK client that keeps no idle connections, so none is left open for the GC to warn about."""
    return OpenAI(
        api_key=key or stack.create_key(),
        base_url=stack.gateway + "/antigravity/v1",
        max_retries=0,
        http_client=httpx.Client(timeout=60, limits=httpx.Limits(max_keepalive_connections=0)),
    )


def extra(model: Any, name: str) -> Any:
    """A non-standard field (`reasoning_content`, `images`) the SDK keeps in `model_extra`."""
    return (model.model_extra or {}).get(name)


def test_non_stream_text(stack: Stack) -> None:
    answer = sdk(stack).chat.completions.create(
        model="gemini-2.5-flash",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Say hello to the pangolin"},
        ],
    )
    choice = answer.choices[0]
    assert "pangolin" in (choice.message.content or "")
    assert choice.finish_reason == "stop" and answer.model == "gemini-2.5-flash"
    assert answer.usage is not None and answer.usage.prompt_tokens > 0 and answer.usage.completion_tokens > 0
    sent = stack.upstream_requests(":generateContent")[-1]["body"]
    assert sent["request"]["systemInstruction"] == {"role": "user", "parts": [{"text": "Be brief."}]}


def test_stream_text_with_usage_chunk(stack: Stack) -> None:
    chunks = list(
        sdk(stack).chat.completions.create(
            model="gemini-2.5-flash",
            messages=[{"role": "user", "content": "Tell me about the narwhal"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "narwhal" in text
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) >= 2, "not streamed"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    usage_chunk = chunks[-1]
    assert usage_chunk.choices == [] and usage_chunk.usage is not None
    assert usage_chunk.usage.total_tokens >= usage_chunk.usage.prompt_tokens > 0


@pytest.mark.parametrize("stream", [False, True], ids=["unary", "stream"])
def test_reasoning_content_on_a_thinking_model(stack: Stack, stream: bool) -> None:
    client = sdk(stack)
    messages: Any = [{"role": "user", "content": "Think about the axolotl"}]
    if stream:
        chunks = list(
            client.chat.completions.create(
                model="claude-sonnet-4-5-thinking",
                messages=messages,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        reasoning = "".join(extra(c.choices[0].delta, "reasoning_content") or "" for c in chunks if c.choices)
        content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        usage = chunks[-1].usage
    else:
        answer = client.chat.completions.create(model="claude-sonnet-4-5-thinking", messages=messages)
        reasoning = extra(answer.choices[0].message, "reasoning_content") or ""
        content = answer.choices[0].message.content or ""
        usage = answer.usage
    assert "axolotl" in reasoning and "axolotl" in content
    assert usage is not None and usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens
    assert usage.completion_tokens > usage.completion_tokens_details.reasoning_tokens


@pytest.mark.parametrize(
    "fault", [{"fault": "drop_after_events", "events": 2}, {"fault": "no_finish"}], ids=["drop", "no-finish"]
)
def test_broken_stream_is_an_error_not_a_clean_finish(stack: Stack, fault: dict[str, Any]) -> None:
    key = stack.create_key()
    stack.fault(**fault)
    received: list[Any] = []
    with pytest.raises(openai.APIError):
        for chunk in sdk(stack, key).chat.completions.create(
            model="gemini-2.5-flash",
            messages=[{"role": "user", "content": "Tell me a long story about the okapi"}],
            stream=True,
        ):
            received.append(chunk)
    assert received, "the error came before any output: the test did not break the stream mid-way"
    assert all(c.choices[0].finish_reason is None for c in received if c.choices)

    stack.fault(**fault)
    lines = _raw_stream_lines(stack, key, "Tell me a long story about the okapi, again")
    assert "data: [DONE]" not in lines
    error = orjson.loads(lines[-1].removeprefix("data: "))["error"]
    assert error["type"] == "upstream_error" and error["message"]


def _raw_stream_lines(stack: Stack, key: str, prompt: str) -> list[str]:
    with httpx.stream(
        "POST",
        stack.gateway + CHAT_PATH,
        headers={"Authorization": f"Bearer {key}"},
        json={"model": "gemini-2.5-flash", "stream": True, "messages": [{"role": "user", "content": prompt}]},
        timeout=30,
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        return [line for line in response.iter_lines() if line.startswith("data: ")]


def test_n_above_one_is_refused(stack: Stack) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk(stack).chat.completions.create(
            model="gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}], n=2
        )
    assert caught.value.param == "n" and "n>1" in caught.value.message


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (b'{"model": "gemini-2.5-flash", "messages": [', None),
        (b'{"messages": [{"role": "user", "content": "hi"}]}', "model"),
        (b'{"model": "gemini-2.5-flash"}', "messages"),
        (b'{"model": "gemini-2.5-flash", "messages": "hi"}', "messages"),
        (
            b'{"model": "gemini-2.5-flash", "messages": [{"role": "robot", "content": "hi"}]}',
            "messages[0].role",
        ),
    ],
    ids=["bad-json", "no-model", "no-messages", "messages-not-array", "bad-role"],
)
def test_invalid_requests_get_openai_400s(stack: Stack, body: bytes, param: str | None) -> None:
    response = httpx.post(
        stack.gateway + CHAT_PATH,
        headers={"Authorization": f"Bearer {stack.create_key()}", "content-type": "application/json"},
        content=body,
        timeout=30,
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param and error["message"]
    assert stack.upstream_requests(":generateContent") == []


def test_missing_key_is_an_openai_401(stack: Stack) -> None:
    with pytest.raises(openai.AuthenticationError):
        sdk(stack, "sk-not-a-key").chat.completions.create(
            model="gemini-2.5-flash", messages=[{"role": "user", "content": "hi"}]
        )


def test_model_alias_resolves(stack: Stack) -> None:
    answer = sdk(stack).chat.completions.create(
        model="gemini-3-pro-preview", messages=[{"role": "user", "content": "hello"}]
    )
    assert answer.model == "gemini-3-pro-preview"
    assert stack.upstream_requests(":generateContent")[-1]["body"]["model"] == "gemini-pro-agent"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_contract_curl_example_streams_to_done(stack: Stack) -> None:
    result = subprocess.run(
        [
            "curl",
            "-sS",
            "-N",
            f"{stack.gateway}{CHAT_PATH}",
            "-H",
            "Content-Type: application/json",
            "-H",
            f"Authorization: Bearer {stack.create_key()}",
            "-d",
            '{"messages":[{"role":"user","content":"What model are you?"}],"model":"gemini-3-pro-low","stream":true}',
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    events = [line.removeprefix("data: ") for line in result.stdout.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [orjson.loads(event) for event in events[:-1]]
    assert "What model are you?" in "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


@pytest.fixture
def slow_stack(tmp_path: Path) -> Iterator[Stack]:
    """A gateway with a short keepalive interval, so a pausing upstream shows the comments quickly."""
    with antigravity_stack(tmp_path, keepalive_interval_s=0.1) as running:
        yield running


def _event_delay(stack: Stack, delay_ms: int) -> None:
    httpx.post(f"{stack.cloudcode}/_control/settings", json={"event_delay_ms": delay_ms}).raise_for_status()


def _open_streams(stack: Stack) -> float:
    metrics = httpx.get(stack.gateway + "/metrics").text
    line = next(line for line in metrics.splitlines() if line.startswith("switchyard_open_streams "))
    return float(line.split()[1])


def _stream_request(stack: Stack, key: str) -> Any:
    # A prompt long enough that the echoed answer's second event shows it is no refusal sentence (the
    # gateway holds back the first events while they could be one, e.g. "Echo (gemini-2.5-fla").
    prompt = "hi, please tell me a story about the sea"
    return httpx.stream(
        "POST",
        stack.gateway + CHAT_PATH,
        headers={"Authorization": f"Bearer {key}"},
        json={"model": "gemini-2.5-flash", "stream": True, "messages": [{"role": "user", "content": prompt}]},
        timeout=30,
    )


def test_keepalive_comments_while_the_upstream_is_silent(slow_stack: Stack) -> None:
    _event_delay(slow_stack, 350)
    with _stream_request(slow_stack, slow_stack.create_key()) as response:
        lines = [line for line in response.iter_lines() if line]
    assert ": keepalive" in lines and lines[-1] == "data: [DONE]"
    assert lines.index(": keepalive") < len(lines) - 2, "keepalives came between events"


def test_client_disconnect_ends_the_stream(slow_stack: Stack) -> None:
    """The upstream would take seconds more; the gateway stops as soon as the client has gone."""
    _event_delay(slow_stack, 1500)
    with _stream_request(slow_stack, slow_stack.create_key()) as response:
        lines = response.iter_lines()  # held: dropping the iterator would close the connection
        first = next(line for line in lines if line.startswith("data: "))
        assert "chat.completion.chunk" in first
        assert _open_streams(slow_stack) == 1
    deadline = time.monotonic() + 1
    while _open_streams(slow_stack) != 0:
        assert time.monotonic() < deadline, "the gateway kept streaming to a client that left"
        time.sleep(0.05)


def test_an_account_that_does_not_list_a_model_is_not_chosen_for_it(tmp_path: Path) -> None:
    """A per-account User-Agent below 3.8 Flash's floor hides the model from that account (§12.3):
    the gateway sends 3.8 requests only to accounts whose catalogue lists it."""
    with antigravity_stack(tmp_path, accounts_count=0, quota_refresh_interval_s=0.2) as stack:
        stack.add_account("antigravity-old", user_agent="antigravity/hub/2.5.0 darwin/arm64")
        stack.add_account("antigravity-new")
        client = sdk(stack)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(stack.upstream_requests("fetchAvailableModels")) < 2:
            time.sleep(0.1)
        for index in range(6):
            answer = client.chat.completions.create(
                model="gemini-3.8-flash-medium", messages=[{"role": "user", "content": f"hello {index}"}]
            )
            assert answer.choices[0].message.content
        accounts = {e["account"] for e in stack.upstream_requests(":generateContent")}
        assert accounts == {"antigravity-new"}
