"""The pool beyond single failures: restarts, quota data, stickiness, per-account caps, fairness."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from switchyard.app import create_app
from switchyard.errors import UpstreamQuotaExhausted
from switchyard.pool import failover, open_pool
from switchyard.pool.persist import Quota, save_quotas
from switchyard.providers import UpstreamAccount
from switchyard.store import accounts as account_store
from switchyard.store.db import Store, open_store
from switchyard.surfaces.context import RequestContext
from tests.conftest import make_settings
from tests.pool.conftest import FLASH, generate, seen, state_of, stored
from tests.servers import serve
from tests.stack import antigravity_stack


def test_a_restart_honours_cooldowns(tmp_path: Path) -> None:
    with antigravity_stack(tmp_path, accounts_count=2, quota_refresh_interval_s=0) as stack:
        key = stack.create_key()
        stack.fault("quota_exhausted", reset_delay_s=3600)
        assert generate(stack, key).status_code == 200
        spent, served = seen(stack)
        assert spent != served
        assert state_of(stack, spent, "cooldown_until").cooldown_reason == "quota exhausted"
        with serve(create_app(stack.settings)) as restarted:  # a fresh process state, same store
            stack.gateway = restarted
            for _ in range(4):
                assert generate(stack, key).status_code == 200
        assert seen(stack)[2:] == [served] * 4


def test_quota_aware_selection_prefers_the_account_with_most_quota_left(tmp_path: Path) -> None:
    with antigravity_stack(tmp_path, accounts_count=3, quota_refresh_interval_s=0) as stack:
        key = stack.create_key()
        ids = {name: s for name, s in _ids(stack).items()}
        reset = time.time() + 3600
        stack.run(lambda store: save_quotas(store, ids["antigravity-1"], {"gemini": Quota(0.2, reset)}))
        stack.run(lambda store: save_quotas(store, ids["antigravity-2"], {"gemini": Quota(0.95, reset)}))
        stack.run(lambda store: save_quotas(store, ids["antigravity-3"], {"gemini": Quota(0.5, reset)}))
        for _ in range(4):
            assert generate(stack, key).status_code == 200
        assert seen(stack) == ["antigravity-2"] * 4


def _ids(stack: object) -> dict[str, int]:
    async def read(store: Store) -> dict[str, int]:
        return {a.name: a.id for a in await account_store.list_accounts(store)}

    result: dict[str, int] = stack.run(read)  # type: ignore[attr-defined]
    return result


def test_background_refresh_records_quotas_and_rests_an_empty_family(tmp_path: Path) -> None:
    with antigravity_stack(tmp_path, accounts_count=0, quota_refresh_interval_s=0.2) as stack:
        stack.add_account("antigravity-1", quota_requests=0)  # every model reports nothing left
        stack.add_account("antigravity-2")
        key = stack.create_key()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            states = stored(stack)
            if all("gemini" in s.states for s in states.values()):
                break
            time.sleep(0.1)
        flash = {name: s.states["gemini"] for name, s in stored(stack).items()}
        assert flash["antigravity-1"].quota_remaining == 0.0
        assert state_of(stack, "antigravity-1", "cooldown_until").cooldown_reason == "quota exhausted"
        assert flash["antigravity-2"].quota_remaining == 1.0
        assert flash["antigravity-2"].quota_reset_at is not None
        for _ in range(3):
            assert generate(stack, key).status_code == 200
        assert seen(stack) == ["antigravity-2"] * 3  # no request had to fail on the empty account


def test_a_quota_error_triggers_a_refresh_of_that_account(tmp_path: Path) -> None:
    with antigravity_stack(tmp_path, accounts_count=2, quota_refresh_interval_s=0) as stack:
        key = stack.create_key()
        stack.fault("quota_exhausted", reset_delay_s=600)
        assert generate(stack, key).status_code == 200
        spent = seen(stack)[0]
        deadline = time.monotonic() + 5
        while not stack.upstream_requests("fetchAvailableModels") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [e["account"] for e in stack.upstream_requests("fetchAvailableModels")] == [spent]


def test_an_account_at_its_cap_is_skipped_so_a_slow_account_stalls_nobody(tmp_path: Path) -> None:
    with antigravity_stack(
        tmp_path, accounts_count=2, quota_refresh_interval_s=0, pool_account_max_concurrency=1
    ) as stack:
        key = stack.create_key()
        stack.fault("delay_ms", delay_ms=2000, match={"account": "antigravity-1"}, times=5)
        with ThreadPoolExecutor(4) as executor:
            slow = [executor.submit(generate, stack, key, FLASH, f"slow {n}") for n in range(2)]
            time.sleep(0.5)
            started = time.monotonic()
            fast = [generate(stack, key, FLASH, f"fast {n}") for n in range(3)]
            elapsed = time.monotonic() - started
            assert all(r.status_code == 200 for r in fast)
            assert elapsed < 1.5, elapsed  # served by account 2 while account 1 was slow
            assert all(f.result().status_code == 200 for f in slow)
        accounts = seen(stack)
        assert accounts.count("antigravity-1") <= 2


def test_every_account_full_queues_briefly_then_answers_429(tmp_path: Path) -> None:
    with antigravity_stack(
        tmp_path,
        accounts_count=1,
        quota_refresh_interval_s=0,
        pool_account_max_concurrency=1,
        pool_busy_wait_s=0.3,
    ) as stack:
        key = stack.create_key()
        stack.fault("delay_ms", delay_ms=1500)
        with ThreadPoolExecutor(2) as executor:
            slow = executor.submit(generate, stack, key)
            time.sleep(0.4)
            busy = generate(stack, key)
            assert slow.result().status_code == 200
        assert busy.status_code == 429
        assert "1 at the concurrency cap" in busy.json()["error"]["message"]
        assert busy.headers["retry-after"] == "1"


def test_sessions_stick_to_their_account_while_it_is_healthy(tmp_path: Path) -> None:
    async def scenario() -> None:
        settings = make_settings(tmp_path, pool_strategy="round-robin")
        store = await open_store(settings)
        for n in range(3):
            await account_store.add_account(
                store, provider="antigravity", name=f"a{n}", secret={"refresh_token": f"t{n}"}
            )
        pool = await open_pool(store, settings)
        ctx = RequestContext(request_id="r", started=0.0, provider="antigravity")
        used: list[str] = []
        fail_on: set[str] = set()

        async def call(account: UpstreamAccount) -> dict[str, object]:
            used.append(account.name)
            if account.name in fail_on:
                raise UpstreamQuotaExhausted("gone", retry_after=600)
            return {"usageMetadata": {"totalTokenCount": 5}}

        try:
            for _ in range(4):
                await failover.run_unary(pool, ctx, "claude", call, session="conv-1")
            assert len(set(used)) == 1  # round-robin would have rotated; the session held
            await failover.run_unary(pool, ctx, "claude", call, session="conv-2")
            fail_on.add(used[0])  # the session's account rests: it moves, and stays moved
            for _ in range(3):
                await failover.run_unary(pool, ctx, "claude", call, session="conv-1")
            moved = used[-1]
            assert moved != used[0] and used[-3:] == [moved] * 3
        finally:
            await pool.aclose()
            await store.close()

    asyncio.run(scenario())


def test_redis_state_serves_the_gateway(tmp_path: Path) -> None:
    """With `SWITCHYARD_REDIS_URL` set, two gateways share cooldowns (one instance's quota error
    keeps the other off the account)."""
    import uuid

    from tests.pool.test_state import REDIS_URL, redis_or_skip

    prefix = f"switchyard-test-{uuid.uuid4().hex[:8]}"

    async def probe() -> None:
        state = await redis_or_skip(prefix)
        await state.aclose()
        await state.link.aclose()

    asyncio.run(probe())
    with antigravity_stack(
        tmp_path, accounts_count=2, quota_refresh_interval_s=0, redis_url=REDIS_URL, redis_prefix=prefix
    ) as stack:
        key = stack.create_key()
        stack.fault("quota_exhausted", reset_delay_s=600)
        assert generate(stack, key).status_code == 200
        spent, served = seen(stack)
        assert spent != served
        second = stack.settings.model_copy(update={"accounts_reload_interval_s": 0.0})
        with serve(create_app(second)) as other:
            for _ in range(3):
                assert (
                    httpx.post(
                        f"{other}/antigravity/v1beta/models/{FLASH}:generateContent",
                        headers={"x-goog-api-key": key},
                        json={"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
                        timeout=30,
                    ).status_code
                    == 200
                )
        assert seen(stack)[2:] == [served] * 3
