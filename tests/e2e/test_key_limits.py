"""Each client-key limit, enforced on real requests through the gateway (issue 2)."""

from __future__ import annotations

import threading
import time

import httpx

from switchyard.keys import service
from switchyard.keys.limits import Quota
from tests.stack import Stack

URL = "/antigravity/v1beta/models/{model}:generateContent"


def call(stack: Stack, key: str, model: str = "gemini-2.5-flash", text: str = "hi") -> httpx.Response:
    return httpx.post(
        stack.gateway + URL.format(model=model),
        headers={"x-goog-api-key": key},
        json={"contents": [{"parts": [{"text": text}]}]},
        timeout=30,
    )


def test_rpm_limit_gives_429_with_retry_after(stack: Stack) -> None:
    key = stack.create_key("rpm-key", rpm=2)
    assert call(stack, key).status_code == 200
    assert call(stack, key).status_code == 200
    refused = call(stack, key)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    error = refused.json()["error"]
    assert "2 requests per minute" in error["message"] and error["status"] == "RESOURCE_EXHAUSTED"


def test_concurrency_limit(stack: Stack) -> None:
    key = stack.create_key("conc-key", max_concurrent=1)
    stack.fault("delay_ms", delay_ms=1500, times=1)
    results: list[int] = []
    slow = threading.Thread(target=lambda: results.append(call(stack, key).status_code))
    slow.start()
    time.sleep(0.5)
    refused = call(stack, key)
    slow.join()
    assert results == [200]
    assert refused.status_code == 429 and "concurrency limit of 1" in refused.json()["error"]["message"]
    assert call(stack, key).status_code == 200  # the slot was released


def test_request_quota(stack: Stack) -> None:
    key = stack.create_key("quota-key", quota_requests=Quota(2, "day"))
    assert [call(stack, key).status_code for _ in range(2)] == [200, 200]
    refused = call(stack, key)
    assert refused.status_code == 429
    assert "request quota of 2 per day" in refused.json()["error"]["message"]
    assert int(refused.headers["retry-after"]) > 0


def test_token_quota_counts_tokens_of_finished_requests(stack: Stack) -> None:
    key = stack.create_key("tok-key", quota_tokens=Quota(5, "month"))
    assert call(stack, key, text="a fairly long prompt " * 10).status_code == 200
    refused = call(stack, key)
    assert refused.status_code == 429 and "token quota of 5 per month" in refused.json()["error"]["message"]


def test_quota_survives_a_restart_through_the_usage_table(stack: Stack) -> None:
    key = stack.create_key("persist-key")
    for _ in range(3):
        assert call(stack, key).status_code == 200
    time.sleep(0.3)  # the usage writer flushes every 50 ms in tests
    stack.run(
        lambda store: service.update_limits(
            store, "persist-key", service.KeyLimits(quota_requests=Quota(3, "day"))
        )
    )
    refused = call(stack, key)  # a fresh limit: the counter is seeded from the three stored events
    assert refused.status_code == 429


def test_model_patterns(stack: Stack) -> None:
    key = stack.create_key("pattern-key", models=["gemini-2.5-*"])
    assert call(stack, key, model="gemini-2.5-flash").status_code == 200
    refused = call(stack, key, model="claude-sonnet-4-5")
    assert refused.status_code == 403
    assert (
        "not allowed" in refused.json()["error"]["message"]
        and "gemini-2.5-*" in refused.json()["error"]["message"]
    )


def test_expired_key(stack: Stack) -> None:
    key = stack.create_key("expired-key", expires_at=time.time() - 1)
    refused = call(stack, key)
    assert refused.status_code == 403 and "expired" in refused.json()["error"]["message"]


def test_usage_is_recorded_per_request(stack: Stack) -> None:
    key = stack.create_key("usage-key")
    assert call(stack, key, text="count my tokens please").status_code == 200
    assert call(stack, key, model="no-such-model").status_code == 404
    time.sleep(0.3)
    public = stack.run(lambda store: service.get_key(store, "usage-key"))
    assert public.usage.requests_total == 2 and public.usage.tokens_total > 0

    from sqlalchemy import select

    from switchyard.store.tables import UsageEvent

    async def events(store):  # type: ignore[no-untyped-def]
        async with store.sessions() as session:
            return (await session.scalars(select(UsageEvent).where(UsageEvent.key_name == "usage-key"))).all()

    rows = sorted(stack.run(events), key=lambda row: row.created_at)
    assert [row.status for row in rows] == [200, 404]
    ok = rows[0]
    assert (
        ok.provider == "antigravity" and ok.model == "gemini-2.5-flash" and ok.account in stack.account_names
    )
    assert ok.prompt_tokens > 0 and ok.completion_tokens > 0 and ok.latency_ms > 0 and ok.ttfb_ms is not None


def test_refused_and_malformed_requests_do_not_use_the_request_quota(stack: Stack) -> None:
    """Issue 17 #11: a client is charged neither for its own mistakes nor for refusals."""
    key = stack.create_key("refund-key", quota_requests=Quota(3, "day"))
    malformed = httpx.post(
        stack.gateway + URL.format(model="gemini-2.5-flash"),
        headers={"x-goog-api-key": key},
        json={"contents": []},
        timeout=30,
    )
    assert malformed.status_code == 400
    for _ in range(4):
        assert call(stack, key, model="no-such-model").status_code == 404
    time.sleep(0.3)  # flushed: a counter seeded now sees them in the usage table
    assert [call(stack, key).status_code for _ in range(3)] == [200, 200, 200]
    assert call(stack, key).status_code == 429
    stack.run(
        lambda store: service.update_limits(
            store, "refund-key", service.KeyLimits(quota_requests=Quota(3, "day"))
        )
    )
    assert call(stack, key).status_code == 429  # reseeded from the table: the same three count


def test_concurrent_first_requests_never_exceed_the_request_quota(stack: Stack) -> None:
    key = stack.create_key("race-key", quota_requests=Quota(5, "day"))
    statuses: list[int] = []
    threads = [
        threading.Thread(target=lambda: statuses.append(call(stack, key).status_code)) for _ in range(30)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count(200) == 5 and statuses.count(429) == 25, statuses
