"""The link's own connection (`redis_wire`): it signs in and selects the URL's database as
redis-py would, a wrong password is an outage whose log names no secret, and a restarted Redis
is reached again on the next round trip (the scripts it forgot loaded again)."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Iterator

import pytest
import redis

from switchyard.redis_link import RedisDown, RedisLink
from switchyard.redis_wire import Wire
from tests.limits.test_redis_down import PrivateRedis
from tests.servers import free_port

PASSWORD = "wire-test-password-123"
SET = RedisLink.script("redis.call('SET', ARGV[1], ARGV[2]) return redis.call('GET', ARGV[1])")


@pytest.fixture
def guarded() -> Iterator[PrivateRedis]:
    """A private redis-server that wants a password."""
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server binary")
    server = PrivateRedis(free_port(), "--requirepass", PASSWORD)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _client(
    server: PrivateRedis, db: int, username: str | None = None, password: str = PASSWORD
) -> redis.Redis:
    return redis.Redis(port=server.port, db=db, username=username, password=password)


def test_the_wire_signs_in_and_selects_the_urls_database(guarded: PrivateRedis) -> None:
    admin = _client(guarded, 0)
    admin.execute_command("ACL", "SETUSER", "gateway", "on", ">gateway-pw", "~*", "+@all")

    async def go() -> None:
        for url, db in (
            (f"redis://:{PASSWORD}@127.0.0.1:{guarded.port}/3", 3),
            (f"redis://gateway:gateway-pw@127.0.0.1:{guarded.port}/5", 5),
        ):
            link = RedisLink(url, prefix="wire")
            link.start()
            try:
                assert link._wire is not None  # the sender's own connection, not redis-py's
                assert await link.eval(SET, [f"k{db}", "v"]) == "v"
            finally:
                await link.aclose()

    asyncio.run(go())
    assert _client(guarded, 3).get("k3") == b"v" and _client(guarded, 5).get("k5") == b"v"
    assert admin.get("k3") is None and admin.get("k5") is None


def test_a_wrong_password_is_an_outage_whose_log_names_no_secret(
    guarded: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    async def go() -> None:
        link = RedisLink(f"redis://:not-{PASSWORD}@127.0.0.1:{guarded.port}/0", prefix="wire")
        link.start()
        try:
            with pytest.raises(RedisDown):
                await link.eval(SET, ["k", "v"])
            assert not link.up
        finally:
            await link.aclose()

    with caplog.at_level(logging.INFO):
        asyncio.run(go())
    assert "Redis is unreachable" in caplog.text
    assert PASSWORD not in caplog.text


def test_a_restarted_redis_is_reached_again_on_the_next_round_trip() -> None:
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server binary")
    server = PrivateRedis(free_port())
    server.start()

    async def go() -> None:
        link = RedisLink(server.url, prefix="wire")
        link.start()
        try:
            assert await link.eval(SET, ["before", "1"]) == "1"
            await asyncio.to_thread(server.stop)
            await asyncio.to_thread(server.start)  # same port; it has forgotten the script too
            assert await link.eval(SET, ["after", "2"]) == "2"  # reconnected, script loaded, resent
            assert link.up  # the old connection's failure was not taken for an outage
        finally:
            await link.aclose()

    try:
        asyncio.run(go())
    finally:
        server.stop()


def test_a_pipeline_redis_began_answering_is_not_sent_twice() -> None:
    """A connection that breaks after a reply arrived is not retried: Redis ran the commands, and
    running them again would count twice (a quota INCR, say). Red when the wire resends it."""
    received: list[bytes] = []

    async def go() -> None:
        async def serve_one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(1 << 16)
            writer.write(b"+PONG\r\n")  # the connection is in use, and kept
            await writer.drain()
            data = await reader.read(1 << 16)
            received.append(data)
            writer.write(b":1\r\n")  # the first INCR's answer, then the connection breaks
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(serve_one, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        wire = Wire(f"redis://127.0.0.1:{port}/0", connect_timeout_s=1)
        try:
            assert await wire.round_trip([("PING",)]) == ["PONG"]
            with pytest.raises(redis.ConnectionError):
                async with asyncio.timeout(10):  # a resend would wait for answers that never come
                    await wire.round_trip([("INCR", "a"), ("INCR", "b")])
        finally:
            await wire.aclose()
            server.close()
            await server.wait_closed()

    asyncio.run(go())
    assert len(received) == 1 and received[0].count(b"INCR") == 2


def test_round_trips_on_one_wire_take_turns() -> None:
    """Two callers at once (the link without its sender: a command-line tool, shutdown) each get
    their own replies. Red without the wire's lock: the second read fails mid-reply."""
    from tests.limits.shared import redis_or_skip
    from tests.pool.test_state import REDIS_URL

    redis_or_skip()

    async def go() -> None:
        wire = Wire(REDIS_URL, connect_timeout_s=1)
        try:
            replies = await asyncio.gather(
                *(wire.round_trip([("ECHO", f"{n}-{i}") for i in range(50)]) for n in range(4))
            )
            assert replies == [[f"{n}-{i}" for i in range(50)] for n in range(4)]
        finally:
            await wire.aclose()

    asyncio.run(go())
