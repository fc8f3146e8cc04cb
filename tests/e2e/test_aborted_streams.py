"""Issue 17 #12: a stream that did not finish is recorded as such. The client left: 499, with the
tokens the upstream reported so far; the gateway cut it at the end of the shutdown grace: 503, and
the client gets an error event in the route's own dialect before the connection closes (never a
clean end it could take for a finished answer)."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from sqlalchemy import select

from switchyard.store.tables import UsageEvent
from tests.gateway_process import emulated_stack, gateway_environment, start_gateway
from tests.stack import Stack, antigravity_stack


def _rows(stack: Stack) -> dict[str, tuple[int, int, int]]:
    async def read(store):  # type: ignore[no-untyped-def]
        async with store.sessions() as session:
            rows = await session.execute(
                select(
                    UsageEvent.request_id,
                    UsageEvent.status,
                    UsageEvent.prompt_tokens,
                    UsageEvent.completion_tokens,
                )
            )
            return {row[0]: (row[1], row[2], row[3]) for row in rows}

    return dict(stack.run(read))


def _wait_row(stack: Stack, request_id: str) -> tuple[int, int, int]:
    deadline = time.monotonic() + 10
    while request_id not in (rows := _rows(stack)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return rows[request_id]


def test_an_openai_sdk_client_closing_a_stream_is_recorded_499_with_the_tokens_served(
    tmp_path: Path,
) -> None:
    with antigravity_stack(tmp_path, accounts_count=1) as upstream:
        httpx.post(
            f"{upstream.cloudcode}/_control/settings", json={"events_per_stream": 30, "event_delay_ms": 100}
        )
        client = openai.OpenAI(
            base_url=f"{upstream.gateway}/antigravity/v1", api_key=upstream.create_key("sdk")
        )
        stream = client.chat.completions.create(
            model="gemini-2.5-flash",
            messages=[{"role": "user", "content": "a long story"}],
            stream=True,
            extra_headers={"x-request-id": "sdk-left"},
        )
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                break  # the user pressed stop
        stream.close()
        status, prompt_tokens, completion_tokens = _wait_row(upstream, "sdk-left")
    assert status == 499
    assert prompt_tokens > 0  # what the upstream reported before the client left
    assert completion_tokens > 0  # estimated from the text served: the upstream counts only at the end


ROUTES: dict[str, tuple[str, dict[str, Any], str]] = {
    # name: (path, body, a marker of the dialect's error event)
    "openai": (
        "/antigravity/v1/chat/completions",
        {"model": "gemini-2.5-flash", "stream": True, "messages": [{"role": "user", "content": "hi"}]},
        '"type":"service_unavailable"',
    ),
    "anthropic": (
        "/antigravity/v1/messages",
        {
            "model": "gemini-2.5-flash",
            "stream": True,
            "max_tokens": 100,
            "messages": [{"role": "user", "content": "hi"}],
        },
        "event: error",
    ),
    "gemini": (
        "/antigravity/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        {"contents": [{"parts": [{"text": "hi"}]}]},
        '"status":"UNAVAILABLE"',
    ),
    "responses": (
        "/antigravity/v1/responses",
        {"model": "gemini-2.5-flash", "stream": True, "input": "hi"},
        "response.failed",
    ),
}


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with emulated_stack(tmp_path) as stack:
        yield stack


def test_streams_cut_at_the_end_of_the_grace_end_with_an_error_in_their_dialect(
    stack: Stack, tmp_path: Path
) -> None:
    httpx.post(f"{stack.cloudcode}/_control/settings", json={"events_per_stream": 40, "event_delay_ms": 250})
    key = stack.create_key("cut")
    server, gateway = start_gateway(gateway_environment(stack, tmp_path, SWITCHYARD_SHUTDOWN_GRACE_S="1"))
    tails: dict[str, str] = {}
    started = threading.Barrier(len(ROUTES) + 1, timeout=60)

    def stream(name: str) -> None:
        path, body, _ = ROUTES[name]
        lines: list[str] = []
        with (
            httpx.stream(
                "POST",
                gateway + path,
                headers={"Authorization": f"Bearer {key}", "x-request-id": f"cut-{name}"},
                json=body,
                timeout=60,
            ) as response,
            contextlib.suppress(httpx.RemoteProtocolError),
        ):
            for line in response.iter_lines():
                if line.strip():
                    lines.append(line)
                    if len(lines) == 1:
                        started.wait()
        tails[name] = "\n".join(lines[-2:])

    threads = [threading.Thread(target=stream, args=(name,)) for name in ROUTES]
    try:
        for thread in threads:
            thread.start()
        started.wait()  # every stream has sent something
        server.send_signal(signal.SIGTERM)
        for thread in threads:
            thread.join(timeout=60)
        server.wait(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
    for name, (_, _, marker) in ROUTES.items():
        assert marker in tails[name], (name, tails[name])
        assert "shutting down" in tails[name], (name, tails[name])
    rows = _rows(stack)
    assert {name: rows[f"cut-{name}"][0] for name in ROUTES} == dict.fromkeys(ROUTES, 503)
