"""Shared state must be cheap: Redis round trips per ordinary request (issue 16: 8 a request cost
a gateway 60 % of its throughput). Counted where commands leave for the socket: every command
or pipeline sent is one `send_packed_command` of redis-py's connections or one write of the link's
own (`redis_wire`). Only sends naming this test's key prefix count: a
pytest worker may still hold other tests' Redis clients (a gateway shutting down, a feed
reconnecting), and their traffic is not this gateway's."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import httpx
import pytest
from redis.asyncio.connection import AbstractConnection

from switchyard.keys.limits import Quota
from tests.limits.shared import URL, cluster


class Sends:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def count(self, prefix: str) -> int:
        """Sends so far that name a key under `prefix`."""
        marker = prefix.encode()
        return sum(marker in packed for packed in self.sent)


@pytest.fixture
def sends(monkeypatch: pytest.MonkeyPatch) -> Sends:
    counted = Sends()
    original = AbstractConnection.send_packed_command

    async def counting(self: AbstractConnection, command: object, check_health: bool = True) -> None:
        chunks = command if isinstance(command, list) else [command]
        counted.sent.append(b"".join(bytes(chunk) for chunk in chunks))  # type: ignore[arg-type]
        await original(self, command, check_health)  # type: ignore[arg-type]

    def writing(self: asyncio.StreamWriter, data: bytes) -> None:  # the link's own connection
        counted.sent.append(bytes(data))
        original_write(self, data)

    original_write = asyncio.StreamWriter.write
    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)
    monkeypatch.setattr(asyncio.StreamWriter, "write", writing)
    return counted


def per_request(url: str, key: str, sends: Sends, prefix: str, n: int = 10) -> float:
    """Round trips per request over `n` sequential requests (after four to warm up: both of the
    stack's accounts have their access token and project by then, one-off flights)."""

    def one() -> None:
        reply = httpx.post(
            url + URL,
            headers={"x-goog-api-key": key},
            json={"contents": [{"role": "user", "parts": [{"text": uuid.uuid4().hex}]}]},
            timeout=30,
        )
        assert reply.status_code == 200, reply.text

    for _ in range(4):
        one()
    time.sleep(0.2)  # deferred writes sent
    before = sends.count(prefix)
    for _ in range(n):
        one()
    time.sleep(0.2)
    return (sends.count(prefix) - before) / n


def test_an_ordinary_request_costs_at_most_two_round_trips(tmp_path: Path, sends: Sends) -> None:
    # The background reads (snapshot every 75 ms, lease renewal) are not per request: off here.
    # So is the usage drain (every flush reads the stream): it costs per second, not per request.
    with cluster(tmp_path, instances=1, redis_snapshot_interval_s=3600, usage_flush_interval_s=3600) as (
        stack,
        urls,
    ):
        prefix = stack.settings.redis_prefix
        plain = stack.create_key()
        # the account's take + the end-of-request writes
        assert per_request(urls[0], plain, sends, prefix) <= 2
        limited = stack.create_key(rpm=1000, max_concurrent=10, quota_requests=Quota(1000, "day"))
        # the key's admission rides with the account's take: no round trip of its own
        assert per_request(urls[0], limited, sends, prefix) <= 2
