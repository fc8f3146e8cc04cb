"""20 accounts, 500 requests at concurrency 50, random (seeded) faults on the emulator.

Checked independently of the pool, from the emulator's request log (each client request carries
a marker in its text, so its upstream attempts can be found):
- every request that could have succeeded did: a failure must have used up its attempts;
- no account was used while cooling: after a cooling fault, the account sees no request for the
  family until the cooldown is over (with a small grace for requests already on their way);
- the counters add up: requests per account in the emulator's log == the store's counters, and
  tokens the clients were told == the store's token counters.
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx

from switchyard.pool.failover import DEFAULT_MAX_ATTEMPTS
from tests.pool.conftest import FLASH, GENERATE, stored
from tests.stack import Stack, antigravity_stack

ACCOUNTS = 20
REQUESTS = 500
CONCURRENCY = 50
SEED = 20240605
GRACE_S = 1.0
"""A request chosen just before its account cooled may reach the emulator a little later under load."""
COOLING_FAULTS: dict[str, tuple[dict[str, Any], float]] = {
    # fault spec, cooldown the decision table gives it (seconds)
    "rate_limited": ({"retry_delay_s": 6}, 6.0),
    "quota_exhausted": ({"reset_delay_s": 3600}, 3600.0),
    "capacity": ({"retry_delay_s": 20}, 20.0),
    "bare_429": ({}, 5.0),
}
OTHER_FAULTS: dict[str, dict[str, Any]] = {
    "server_error": {},
    "short_rate_limited": {"fault": "rate_limited", "retry_delay_s": 0.3},
}


def _script_faults(stack: Stack, rng: random.Random) -> dict[str, list[str]]:
    """Queue the faults; returns the error faults per account, in the order they will be consumed."""
    names = [f"antigravity-{n}" for n in range(1, ACCOUNTS + 1)]
    quota_accounts = set(rng.sample(names, 4))
    slow_accounts = set(rng.sample(sorted(set(names) - quota_accounts), 3))
    plan: dict[str, list[str]] = defaultdict(list)
    for name in sorted(set(names) - slow_accounts):
        kinds = ["rate_limited", "capacity", "bare_429", "server_error", "short_rate_limited"]
        for kind in rng.sample(kinds, rng.randint(0, 2)):
            plan[name].append(kind)
        if name in quota_accounts:
            plan[name].append("quota_exhausted")
    for name, kinds in plan.items():
        for kind in kinds:
            spec = dict(OTHER_FAULTS[kind] if kind in OTHER_FAULTS else COOLING_FAULTS[kind][0])
            fault = spec.pop("fault", kind)
            stack.fault(fault, match={"account": name, "model": FLASH}, **spec)
    for name in slow_accounts:  # slow accounts carry no error fault, so the log order holds
        stack.fault("delay_ms", delay_ms=300, times=5, match={"account": name})
    return plan


async def _fire(stack: Stack, key: str) -> list[httpx.Response]:
    limit = asyncio.Semaphore(CONCURRENCY)
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=CONCURRENCY)) as client:

        async def one(index: int) -> httpx.Response:
            async with limit:
                return await client.post(
                    f"{stack.gateway}/antigravity/v1beta/models/{FLASH}:generateContent",
                    headers={"x-goog-api-key": key},
                    json={"contents": [{"role": "user", "parts": [{"text": f"load request {index}"}]}]},
                )

        return await asyncio.gather(*(one(i) for i in range(REQUESTS)))


def _marker(entry: dict[str, Any]) -> int:
    text = entry["body"]["request"]["contents"][0]["parts"][0]["text"]
    return int(text.removeprefix("load request "))


def test_500_requests_on_20_accounts_with_random_faults(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    with antigravity_stack(
        tmp_path,
        accounts_count=ACCOUNTS,
        quota_refresh_interval_s=0,
        pool_flush_interval_s=0.2,
    ) as stack:
        key = stack.create_key(max_concurrent=CONCURRENCY)  # above the default per-key cap
        plan = _script_faults(stack, rng)
        responses = asyncio.run(_fire(stack, key))
        log = stack.upstream_requests(GENERATE)
    _check_every_possible_success(responses, log)
    _check_no_use_while_cooling(plan, log)
    _check_counters(stack, responses, log)


def _check_every_possible_success(responses: list[httpx.Response], log: list[dict[str, Any]]) -> None:
    attempts: dict[int, set[str]] = defaultdict(set)
    for entry in log:
        attempts[_marker(entry)].add(entry["account"])
    failed = [(i, r) for i, r in enumerate(responses) if r.status_code != 200]
    for index, response in failed:  # only a request that used up its accounts may fail
        assert len(attempts[index]) >= DEFAULT_MAX_ATTEMPTS, (index, response.status_code, response.text)
    assert len(failed) <= REQUESTS // 100, [r.text for _, r in failed]


def _check_no_use_while_cooling(plan: dict[str, list[str]], log: list[dict[str, Any]]) -> None:
    by_account: dict[str, list[float]] = defaultdict(list)
    markers: dict[str, list[int]] = defaultdict(list)
    for entry in log:
        by_account[entry["account"]].append(entry["time"])
        markers[entry["account"]].append(_marker(entry))
    checked = 0
    for name, kinds in plan.items():
        times = by_account[name]
        for position, kind in enumerate(kinds):
            if kind not in COOLING_FAULTS or position >= len(times):
                continue
            start, cooldown = times[position], COOLING_FAULTS[kind][1]
            during = [t for t in times if start + GRACE_S < t < start + cooldown - GRACE_S]
            assert not during, (name, kinds, position, [round(t - start, 3) for t in times], markers[name])
            checked += 1
    assert checked >= 8  # the check had something to check


def _check_counters(stack: Stack, responses: list[httpx.Response], log: list[dict[str, Any]]) -> None:
    seen_per_account: dict[str, int] = defaultdict(int)
    for entry in log:
        seen_per_account[entry["account"]] += 1
    accounts = stored(stack)  # after shutdown: the pool flushed its last counts
    counted = {
        name: account.states["gemini"].requests
        for name, account in accounts.items()
        if "gemini" in account.states
    }
    assert counted == dict(seen_per_account)
    told = sum(r.json()["usageMetadata"]["totalTokenCount"] for r in responses if r.status_code == 200)
    assert sum(a.states["gemini"].tokens for a in accounts.values() if a.states) == told
