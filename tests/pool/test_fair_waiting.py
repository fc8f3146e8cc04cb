"""When every account slot is taken, waiting requests are served key after key, first come first
served within a key (issue 17 #2): a key with many requests queued does not starve another."""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.pool.conftest import FLASH, GENERATE, generate
from tests.stack import Stack, antigravity_stack


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


def test_waiters_take_turns_by_key(tmp_path: Path) -> None:
    with antigravity_stack(
        tmp_path,
        accounts_count=1,
        quota_refresh_interval_s=0,
        pool_account_max_concurrency=1,
        pool_busy_wait_s=20,
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
