"""SIGTERM under load: `switchyard serve` stops accepting, lets open streams finish, flushes usage."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import func, select

from switchyard.emulators.cloudcode import create_app as create_cloudcode
from switchyard.emulators.google_oauth import create_app as create_oauth
from switchyard.store.tables import UsageEvent
from tests.servers import free_port, serve
from tests.stack import Stack

STREAMS = 12


def test_sigterm_under_load_loses_no_usage_event(tmp_path: Path) -> None:
    with serve(create_oauth()) as oauth, serve(create_cloudcode()) as cloudcode:
        port = free_port()
        env = {
            **os.environ,
            "SWITCHYARD_DATA_DIR": str(tmp_path / "data"),
            "SWITCHYARD_PORT": str(port),
            "SWITCHYARD_ANTIGRAVITY_BASE_URLS": cloudcode,
            "SWITCHYARD_ANTIGRAVITY_DISCOVERY_URL": cloudcode,
            "SWITCHYARD_ANTIGRAVITY_OAUTH_TOKEN_URL": f"{oauth}/token",
            "SWITCHYARD_ANTIGRAVITY_CLIENT_SECRET": "test-secret",
            "SWITCHYARD_USAGE_FLUSH_INTERVAL_S": "30",  # nothing is written before shutdown
            "SWITCHYARD_SHUTDOWN_GRACE_S": "20",
        }
        from tests.conftest import make_settings

        stack = Stack(
            gateway=f"http://127.0.0.1:{port}",
            oauth=oauth,
            cloudcode=cloudcode,
            settings=make_settings(tmp_path),
        )
        stack.add_account("antigravity-1")
        key = stack.create_key("load")
        httpx.post(f"{cloudcode}/_control/settings", json={"events_per_stream": 8, "event_delay_ms": 250})

        server = subprocess.Popen(
            [sys.executable, "-m", "switchyard", "serve"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                assert server.poll() is None and time.monotonic() < deadline, "the server did not start"
                try:
                    if httpx.get(f"{stack.gateway}/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            results: list[int] = []
            lock = threading.Lock()

            def stream_one() -> None:
                with httpx.stream(
                    "POST",
                    f"{stack.gateway}/antigravity/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
                    headers={"x-goog-api-key": key},
                    json={"contents": [{"parts": [{"text": "a long story"}]}]},
                    timeout=60,
                ) as response:
                    events = sum(1 for line in response.iter_lines() if line.startswith("data: "))
                with lock:
                    results.append(events if response.status_code == 200 else -response.status_code)

            threads = [threading.Thread(target=stream_one) for _ in range(STREAMS)]
            for thread in threads:
                thread.start()
            time.sleep(0.8)  # every stream is open and mid-way
            server.send_signal(signal.SIGTERM)
            for thread in threads:
                thread.join(timeout=60)
            exit_code = server.wait(timeout=30)  # uvicorn re-raises SIGTERM once shut down cleanly
        finally:
            if server.poll() is None:
                server.kill()
            output = server.communicate()[0].decode()

        assert exit_code in (0, -signal.SIGTERM), output
        assert len(results) == STREAMS, output
        assert all(count >= 8 for count in results), (results, output)  # every stream ran to its end

        async def count(store):  # type: ignore[no-untyped-def]
            async with store.sessions() as session:
                return await session.scalar(select(func.count(UsageEvent.id)))

        assert stack.run(count) == STREAMS


def _statuses(stack: Stack) -> dict[str, int]:
    async def read(store):  # type: ignore[no-untyped-def]
        async with store.sessions() as session:
            return dict((await session.execute(select(UsageEvent.request_id, UsageEvent.status))).all())

    return dict(stack.run(read))


def test_a_stream_cut_at_the_end_of_the_grace_ends_with_an_error_and_is_logged_503(tmp_path: Path) -> None:
    """Issue 17 #12: a cut stream is not a finished one, for the client or the usage log."""
    with serve(create_oauth()) as oauth, serve(create_cloudcode()) as cloudcode:
        port = free_port()
        env = {
            **os.environ,
            "SWITCHYARD_DATA_DIR": str(tmp_path / "data"),
            "SWITCHYARD_PORT": str(port),
            "SWITCHYARD_ANTIGRAVITY_BASE_URLS": cloudcode,
            "SWITCHYARD_ANTIGRAVITY_DISCOVERY_URL": cloudcode,
            "SWITCHYARD_ANTIGRAVITY_OAUTH_TOKEN_URL": f"{oauth}/token",
            "SWITCHYARD_ANTIGRAVITY_CLIENT_SECRET": "test-secret",
            "SWITCHYARD_SHUTDOWN_GRACE_S": "1",
        }
        from tests.conftest import make_settings

        stack = Stack(
            gateway=f"http://127.0.0.1:{port}",
            oauth=oauth,
            cloudcode=cloudcode,
            settings=make_settings(tmp_path),
        )
        stack.add_account("antigravity-1")
        key = stack.create_key("cut")
        httpx.post(f"{cloudcode}/_control/settings", json={"events_per_stream": 20, "event_delay_ms": 500})
        server = subprocess.Popen(
            [sys.executable, "-m", "switchyard", "serve"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                assert server.poll() is None and time.monotonic() < deadline, "the server did not start"
                try:
                    if httpx.get(f"{stack.gateway}/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            lines: list[str] = []
            with (
                httpx.stream(
                    "POST",
                    f"{stack.gateway}/antigravity/v1/chat/completions",
                    headers={"Authorization": f"Bearer {key}", "x-request-id": "cut-stream"},
                    json={
                        "model": "gemini-2.5-flash",
                        "stream": True,
                        "messages": [{"role": "user", "content": "hi"}],
                    },
                    timeout=60,
                ) as response,
                contextlib.suppress(httpx.RemoteProtocolError),
            ):  # the cut itself
                for line in response.iter_lines():
                    if line.startswith("data: "):
                        lines.append(line)
                        if len(lines) == 1:
                            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        finally:
            if server.poll() is None:
                server.kill()
            output = server.communicate()[0].decode()
        assert "[DONE]" not in lines[-1], (lines, output)
        assert "shutting down" in lines[-1] and '"type":"service_unavailable"' in lines[-1], (lines, output)
        assert _statuses(stack)["cut-stream"] == 503


def test_a_stream_the_client_leaves_is_logged_499(stack: Stack) -> None:
    httpx.post(f"{stack.cloudcode}/_control/settings", json={"events_per_stream": 20, "event_delay_ms": 200})
    key = stack.create_key("leaver")
    with httpx.stream(
        "POST",
        f"{stack.gateway}/antigravity/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}", "x-request-id": "left-stream"},
        json={"model": "gemini-2.5-flash", "stream": True, "messages": [{"role": "user", "content": "hi"}]},
        timeout=60,
    ) as response:
        for line in response.iter_lines():
            if line.startswith("data: "):
                break  # leave after the first event
    deadline = time.monotonic() + 10
    while "left-stream" not in _statuses(stack) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _statuses(stack).get("left-stream") == 499
