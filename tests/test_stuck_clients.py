"""Clients that stop reading cannot hold the gateway (issue 17 #2): a key's streams whose clients
never read take at most the key's share of the account slots, so another key is served at once,
and they are cut after the write timeout, their key's and account's slots freed."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from tests.pool.conftest import FLASH, generate
from tests.stack import Stack, antigravity_stack

KEY_CAP = 8
ACCOUNT_CAP = 8
WRITE_TIMEOUT_S = 2.0
TEXT = "stuck " * 5000


class EndlessFront:
    """Before the Cloud Code emulator: a stream generation call never ends (as fast as it is read);
    everything else goes to the emulator. Counts the endless streams still open."""

    def __init__(self) -> None:
        self.open_streams = 0
        self.most_open = 0

    def app(self, upstream: str) -> Starlette:
        event = (
            b"data: "
            + orjson.dumps(
                {
                    "response": {
                        "candidates": [{"content": {"role": "model", "parts": [{"text": TEXT}]}}],
                        "modelVersion": FLASH,
                        "responseId": "endless",
                    },
                    "traceId": "endless",
                }
            )
            + b"\n\n"
        )

        async def endless() -> AsyncIterator[bytes]:
            self.open_streams += 1
            self.most_open = max(self.most_open, self.open_streams)
            try:
                while True:
                    yield event
                    await asyncio.sleep(0)
            finally:
                self.open_streams -= 1

        async def forward(request: Request) -> Response:
            body = await request.body()
            if request.url.path.endswith(":streamGenerateContent"):
                return StreamingResponse(endless(), media_type="text/event-stream")
            keep = {"authorization", "content-type", "user-agent", "accept"}
            async with httpx.AsyncClient() as http:
                reply = await http.post(
                    upstream + request.url.path,
                    params=request.url.query,
                    content=body,
                    headers={k: v for k, v in request.headers.items() if k in keep},
                    timeout=30,
                )
            return Response(
                reply.content, status_code=reply.status_code, media_type=reply.headers["content-type"]
            )

        return Starlette(routes=[Route("/{path:path}", forward, methods=["POST"])])


@pytest.fixture
def front() -> EndlessFront:
    return EndlessFront()


@pytest.fixture
def stack(tmp_path: Path, front: EndlessFront) -> Iterator[Stack]:
    with antigravity_stack(
        tmp_path,
        accounts_count=2,
        quota_refresh_interval_s=0,
        front=front.app,
        key_default_max_concurrent=KEY_CAP,
        pool_account_max_concurrency=ACCOUNT_CAP,
        pool_busy_wait_s=0,  # no slot → 429 at once: a 200 is proof a slot was free
        http_write_timeout_s=WRITE_TIMEOUT_S,
    ) as running:
        yield running


def _stuck_stream(stack: Stack, key: str) -> socket.socket:
    """A streaming request from a client that never reads its answer."""
    host, port = stack.gateway.removeprefix("http://").split(":")
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.connect((host, int(port)))
    body = orjson.dumps({"contents": [{"role": "user", "parts": [{"text": "never read"}]}]})
    client.sendall(
        f"POST /antigravity/v1beta/models/{FLASH}:streamGenerateContent?alt=sse HTTP/1.1\r\n"
        f"Host: x\r\nx-goog-api-key: {key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    return client


def _wait_for(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_streams_nobody_reads_hold_one_key_share_and_are_cut(stack: Stack, front: EndlessFront) -> None:
    greedy, other = stack.create_key("greedy"), stack.create_key("other")
    stuck = [_stuck_stream(stack, greedy) for _ in range(2 * ACCOUNT_CAP)]  # every account slot
    try:
        assert _wait_for(lambda: front.most_open == KEY_CAP, 10), front.most_open
        served = generate(stack, other)
        assert served.status_code == 200, served.text  # at once: busy_wait is 0
        # Cut after the write timeout: the upstream streams are closed, the slots given back.
        assert _wait_for(lambda: front.open_streams == 0, WRITE_TIMEOUT_S + 10), front.open_streams
        stack.fault("delay_ms", delay_ms=500, times=2 * ACCOUNT_CAP)
        with ThreadPoolExecutor(2 * ACCOUNT_CAP) as executor:
            keys = [greedy] * KEY_CAP + [other] * KEY_CAP
            statuses = [r.status_code for r in executor.map(lambda key: generate(stack, key), keys)]
        assert statuses == [200] * (2 * ACCOUNT_CAP), "every key and account slot is free again"
        assert front.most_open == KEY_CAP, "the greedy key never held more than its share"
    finally:
        for client in stuck:
            client.close()
