"""When every account slot is taken, waiting requests are served key after key, first come first
served within a key (issue 17 #2): a key with many requests queued does not starve another."""

from __future__ import annotations

import asyncio
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from switchyard.app import create_app
from switchyard.http_protocol import server_options
from tests.pool.conftest import FLASH, GENERATE, generate
from tests.pool.test_state import REDIS_URL, redis_or_skip
from tests.servers import serve
from tests.stack import Stack, antigravity_stack


def _redis_settings() -> dict[str, Any]:
    prefix = f"switchyard-test-{uuid.uuid4().hex[:8]}"

    async def probe() -> None:
        state = await redis_or_skip(prefix)
        await state.aclose()
        await state.link.aclose()  # the state does not own its link: its sockets are closed here

    asyncio.run(probe())
    return {"redis_url": REDIS_URL, "redis_prefix": prefix}


def _served_order(stack: Stack) -> list[str]:
    """The marker text of each generation call, in the order the emulator received them."""
    return [
        entry["body"]["request"]["contents"][0]["parts"][0]["text"]
        for entry in stack.upstream_requests(GENERATE)
    ]


def _wait_until_received(stack: Stack, count: int) -> None:
    deadline = time.monotonic() + 10
    while len(stack.upstream_requests(GENERATE)) < count and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.mark.parametrize("state", ["memory", "redis"])
def test_waiters_take_turns_by_key(tmp_path: Path, state: str) -> None:
    with antigravity_stack(
        tmp_path,
        accounts_count=1,
        quota_refresh_interval_s=0,
        pool_account_max_concurrency=1,
        pool_busy_wait_s=20,
        **(_redis_settings() if state == "redis" else {}),
    ) as stack:
        busy, quiet = stack.create_key("busy"), stack.create_key("quiet")
        stack.fault("delay_ms", delay_ms=1500, times=1)  # the holder: long enough for all to queue
        stack.fault("delay_ms", delay_ms=300, times=10)
        with ThreadPoolExecutor(6) as executor:
            sent: list[Future[httpx.Response]] = [executor.submit(generate, stack, busy, FLASH, "busy 0")]
            _wait_until_received(stack, 1)  # busy 0 holds the only slot
            for text, key in (("busy 1", busy), ("busy 2", busy), ("busy 3", busy), ("quiet 1", quiet)):
                sent.append(executor.submit(generate, stack, key, FLASH, text))
                time.sleep(0.1)  # queued in this order
            assert [future.result().status_code for future in sent] == [200] * 5
        assert _served_order(stack) == ["busy 0", "busy 1", "quiet 1", "busy 2", "busy 3"]


def test_a_slot_freed_by_another_instance_serves_a_waiter_here(tmp_path: Path) -> None:
    """Two gateways share the account's slots through Redis; a release there wakes nobody here, so
    the waiter must find the slot by itself (it polls)."""
    with antigravity_stack(
        tmp_path,
        accounts_count=1,
        quota_refresh_interval_s=0,
        pool_account_max_concurrency=1,
        pool_busy_wait_s=20,
        **_redis_settings(),
    ) as stack:
        key = stack.create_key()
        stack.fault("delay_ms", delay_ms=1000, times=1)
        with (
            serve(create_app(stack.settings), **server_options(stack.settings)) as other,
            ThreadPoolExecutor(2) as executor,
        ):
            holder = executor.submit(generate, stack, key, FLASH, "held elsewhere")
            _wait_until_received(stack, 1)
            waiting = executor.submit(generate, Stack(other, "", "", stack.settings), key, FLASH, "here")
            assert holder.result().status_code == 200
            assert waiting.result().status_code == 200
        assert _served_order(stack) == ["held elsewhere", "here"]
