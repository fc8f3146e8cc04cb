"""Issue 16: `kill -9` under load loses no usage event of a request the client saw complete.

A real `switchyard serve` is killed with SIGKILL while clients stream and post; its background
writer never ran (a 30 s flush interval), so every row must come from where the event was made
durable before the response's last byte: the spool file (no Redis) or the Redis stream (drained
by the next instance).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import select

from switchyard.store.tables import UsageEvent
from tests.gateway_process import emulated_stack, gateway_environment, start_gateway
from tests.stack import Stack

WORKERS = 4
REDIS_URL = os.environ.get("SWITCHYARD_TEST_REDIS", "redis://127.0.0.1:6379/0")


def _load_then_kill(server: subprocess.Popen[bytes], gateway: str, key: str) -> set[str]:
    """Clients post and stream until the server is killed; the request ids they saw complete."""
    completed: set[str] = set()
    lock = threading.Lock()

    def client(index: int) -> None:
        headers = {"Authorization": f"Bearer {key}"}
        body = {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}]}
        for count in range(10_000):
            request_id = f"w{index}-{count}"
            try:
                if index % 2:
                    with httpx.stream(
                        "POST",
                        gateway + "/antigravity/v1/chat/completions",
                        headers={**headers, "x-request-id": request_id},
                        json={**body, "stream": True},
                        timeout=30,
                    ) as response:
                        done = any(line == "data: [DONE]" for line in response.iter_lines())
                else:
                    response = httpx.post(
                        gateway + "/antigravity/v1/chat/completions",
                        headers={**headers, "x-request-id": request_id},
                        json=body,
                        timeout=30,
                    )
                    done = response.status_code == 200 and bool(response.json()["choices"])
            except (httpx.TransportError, ValueError):
                return  # the server is gone
            if done:
                with lock:
                    completed.add(request_id)

    clients = [threading.Thread(target=client, args=(index,)) for index in range(WORKERS)]
    for thread in clients:
        thread.start()
    deadline = time.monotonic() + 30
    while len(completed) < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.send_signal(signal.SIGKILL)
    server.wait(timeout=10)
    for thread in clients:
        thread.join(timeout=30)
    with lock:
        return set(completed)


def _rows(stack: Stack) -> list[str]:
    async def read(store):  # type: ignore[no-untyped-def]
        async with store.sessions() as session:
            return list((await session.scalars(select(UsageEvent.request_id))).all())

    return list(stack.run(read))


def _wait_for_rows(stack: Stack, wanted: set[str]) -> list[str]:
    deadline = time.monotonic() + 20
    rows = _rows(stack)
    while not wanted <= set(rows) and time.monotonic() < deadline:
        time.sleep(0.2)
        rows = _rows(stack)
    return rows


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with emulated_stack(tmp_path) as stack:
        yield stack


def test_sigkill_under_load_keeps_every_completed_request_in_the_spool(stack: Stack, tmp_path: Path) -> None:
    key = stack.create_key("crash")
    env = gateway_environment(stack, tmp_path, SWITCHYARD_USAGE_FLUSH_INTERVAL_S="30")
    server, gateway = start_gateway(env, tmp_path / "gateway.log")
    completed = _load_then_kill(server, gateway, key)
    assert len(completed) >= 40
    assert not set(_rows(stack)) & completed  # nothing was written before the kill

    restarted, _ = start_gateway({**env, "SWITCHYARD_USAGE_FLUSH_INTERVAL_S": "0.1"})  # replays the spool
    try:
        rows = _wait_for_rows(stack, completed)
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.wait(timeout=30)
    missing = completed - set(rows)
    assert not missing, f"{len(missing)} of {len(completed)} completed requests have no usage row"
    assert len(rows) == len(set(rows)), "an event was written twice"
    assert not list((tmp_path / "data" / "usage-spool").glob("*.jsonl"))  # drained and removed


def test_sigkill_under_load_keeps_every_completed_request_in_the_redis_stream(
    stack: Stack, tmp_path: Path
) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    prefix = f"switchyard-test-{uuid.uuid4().hex[:8]}"
    key = stack.create_key("crash")
    env = gateway_environment(
        stack,
        tmp_path,
        SWITCHYARD_REDIS_URL=REDIS_URL,
        SWITCHYARD_REDIS_PREFIX=prefix,
        SWITCHYARD_USAGE_FLUSH_INTERVAL_S="30",
    )
    try:
        server, gateway = start_gateway(env, tmp_path / "gateway.log")
        completed = _load_then_kill(server, gateway, key)
        assert len(completed) >= 40, (tmp_path / "gateway.log").read_text()[-5000:]
        spool = tmp_path / "data" / "usage-spool"
        assert not any(path.read_bytes() for path in spool.glob("*.jsonl"))  # all went to Redis
        assert client.xlen(f"{prefix}:usage:events") >= len(completed)

        other, _ = start_gateway(
            {**env, "SWITCHYARD_USAGE_FLUSH_INTERVAL_S": "0.1"}
        )  # another instance drains
        try:
            rows = _wait_for_rows(stack, completed)
        finally:
            other.send_signal(signal.SIGTERM)
            other.wait(timeout=30)
        missing = completed - set(rows)
        assert not missing, f"{len(missing)} of {len(completed)} completed requests have no usage row"
        assert len(rows) == len(set(rows)), "an event was written twice"
        assert client.xlen(f"{prefix}:usage:events") == 0  # written, acknowledged and deleted
    finally:
        for name in client.scan_iter(f"{prefix}:*"):
            client.delete(name)
        client.close()
