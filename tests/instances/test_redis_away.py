"""When Redis goes away, every shared piece falls back to this instance's own view and says so in
the log; when it comes back, the change feed drops every cache once (notices may have been missed).

"Away" is a port nobody listens on, or a private `redis-server` this test starts and stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from switchyard.admin.auth import AdminAuth
from switchyard.admin.auth_redis import RedisAdminState
from switchyard.shared.changes import Change, ChangeFeed
from switchyard.shared.flight import SharedFlight
from switchyard.store.crypto import SecretBox
from tests.servers import free_port


def test_a_shared_flight_computes_here_when_redis_is_unreachable() -> None:
    from redis.asyncio import Redis

    async def go() -> None:
        calls = 0

        async def compute() -> tuple[dict[str, str], float]:
            nonlocal calls
            calls += 1
            return {"access_token": "fresh"}, 60.0

        flight = SharedFlight(
            Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1),
            "away",
            SecretBox.from_passphrase("test"),
        )
        try:
            assert await flight.run("token:1:x", compute, lambda value: True) == {"access_token": "fresh"}
        finally:
            await flight.aclose()
        assert calls == 1

    asyncio.run(go())


def test_changes_and_the_admin_brake_fall_back_to_this_instance() -> None:
    async def go() -> None:
        url = f"redis://127.0.0.1:{free_port()}/0"
        feed = ChangeFeed(url, "away")
        seen: list[Change] = []
        feed.listen(seen.append)
        await feed.publish(Change("keys", "disabled"))  # logged, not raised
        await feed.aclose()
        assert [change.scope for change in seen] == ["keys"]

        auth = AdminAuth("0" * 64, b"k" * 32, shared=RedisAdminState(url, "away"))
        session = auth.new_session().split(".")[0]
        cookie = auth.sign("session", session, 60)
        assert await auth.session_id(cookie) == session
        await auth.revoke(session)
        assert await auth.session_id(cookie) is None
        for _ in range(10):
            await auth.note_failure("203.0.113.7")
        assert await auth.throttled("203.0.113.7") is not None
        assert await auth.throttled("203.0.113.8") is None
        await auth.shared.aclose()  # type: ignore[union-attr]

    asyncio.run(go())


@contextlib.contextmanager
def _private_redis(port: int, folder: Path) -> Iterator[subprocess.Popen[bytes]]:
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout != b"PONG\n":
            assert time.monotonic() < deadline, "the private redis-server did not start"
            time.sleep(0.05)
        yield server
    finally:
        server.terminate()
        server.wait(10)


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server binary")
def test_the_change_feed_drops_every_cache_when_its_subscription_comes_back(tmp_path: Path) -> None:
    port = free_port()

    async def go() -> None:
        seen: list[Change] = []
        feed = ChangeFeed(f"redis://127.0.0.1:{port}/0", "restart")
        feed.listen(seen.append)
        try:
            with _private_redis(port, tmp_path):
                await feed.start()
            await asyncio.sleep(1.5)  # Redis is away; the reader notices and retries
            assert seen == []
            with _private_redis(port, tmp_path):
                deadline = time.monotonic() + 10
                while {change.scope for change in seen} != {"keys", "accounts"}:
                    assert time.monotonic() < deadline, "no resync after Redis came back"
                    await asyncio.sleep(0.05)
                assert {change.action for change in seen} == {"resync"}
                other = ChangeFeed(f"redis://127.0.0.1:{port}/0", "restart")  # and notices flow again
                await other.publish(Change("keys", "deleted", id=7))
                await other.aclose()
                while not any(change.action == "deleted" for change in seen):
                    assert time.monotonic() < deadline, "no notice after Redis came back"
                    await asyncio.sleep(0.05)
        finally:
            await feed.aclose()

    asyncio.run(go())
