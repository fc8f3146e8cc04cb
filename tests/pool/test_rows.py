"""The decision table on the emulators, row by row: what the client got, and which accounts the
emulator saw the requests on. The background quota refresh is off so nothing but the request
under test reaches the emulators."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.pool.conftest import FLASH, GENERATE, generate, seen, state_of, stored
from tests.stack import Stack, antigravity_stack


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with antigravity_stack(tmp_path, accounts_count=2, quota_refresh_interval_s=0) as running:
        yield running


@pytest.fixture
def key(stack: Stack) -> str:
    return stack.create_key()


def _other(name: str) -> str:
    return "antigravity-2" if name == "antigravity-1" else "antigravity-1"


def test_short_rate_limit_waits_and_retries_the_same_account(stack: Stack, key: str) -> None:
    stack.fault("rate_limited", retry_delay_s=0.6)
    started = time.monotonic()
    response = generate(stack, key)
    assert response.status_code == 200, response.text
    assert time.monotonic() - started >= 0.6
    first, second = seen(stack)
    assert first == second  # waited for the same account instead of switching


def test_long_rate_limit_cools_the_family_and_switches(stack: Stack, key: str) -> None:
    stack.fault("rate_limited", retry_delay_s=30)
    assert generate(stack, key).status_code == 200
    limited, served = seen(stack)
    assert served == _other(limited)
    for _ in range(3):  # the cooled account is not used again for this family...
        assert generate(stack, key).status_code == 200
    assert seen(stack)[2:] == [served] * 3
    state = state_of(stack, limited, "cooldown_until")
    assert state.cooldown_reason == "rate limited"
    assert state.cooldown_until == pytest.approx(time.time() + 30, abs=3)
    # ...but serves another family.
    for _ in range(2):
        assert generate(stack, key, model="claude-sonnet-4-5").status_code == 200
    assert limited in seen(stack)[5:]


def test_quota_exhausted_cools_until_reset_and_switches(stack: Stack, key: str) -> None:
    stack.fault("quota_exhausted", reset_delay_s=3723)
    assert generate(stack, key).status_code == 200
    spent, served = seen(stack)
    assert served == _other(spent)
    state = state_of(stack, spent, "cooldown_until", "last_error")
    assert state.cooldown_reason == "quota exhausted"
    assert state.cooldown_until == pytest.approx(time.time() + 3723, abs=5)
    assert "quota" in (state.last_error or "").lower()


def test_every_account_resting_answers_429_with_the_earliest_reset_and_why(stack: Stack, key: str) -> None:
    stack.fault("quota_exhausted", reset_delay_s=3723, times=2)
    response = generate(stack, key)
    assert response.status_code == 429
    assert 3700 <= int(response.headers["retry-after"]) <= 3724
    message = response.json()["error"]["message"]
    assert message == (
        "All 2 antigravity accounts for gemini models are resting: 2 quota exhausted (next reset in 1h03m)."
    )
    assert sorted(seen(stack)) == ["antigravity-1", "antigravity-2"]
    again = generate(stack, key)  # resting accounts are not even tried
    assert again.status_code == 429 and len(seen(stack)) == 2


def test_capacity_switches_with_a_short_cooldown(stack: Stack, key: str) -> None:
    stack.fault("capacity", retry_delay_s=39)
    assert generate(stack, key).status_code == 200
    full, served = seen(stack)
    assert served == _other(full)
    state = state_of(stack, full, "cooldown_until")
    assert state.cooldown_reason == "no capacity"
    assert state.cooldown_until == pytest.approx(time.time() + 30, abs=3)


def test_401_after_the_providers_refresh_cools_and_switches(stack: Stack, key: str) -> None:
    stack.fault("unauthenticated", times=2)
    assert generate(stack, key).status_code == 200
    first, again, served = seen(stack)
    assert first == again and served == _other(first)  # one refresh-and-retry, then another account
    assert state_of(stack, first, "cooldown_until").cooldown_reason == "token refused"


def test_invalid_grant_disables_the_account_for_relogin(stack: Stack, key: str) -> None:
    httpx.post(f"{stack.oauth}/_control/accounts/antigravity-1/revoke").raise_for_status()
    for _ in range(3):
        assert generate(stack, key).status_code == 200
    assert set(seen(stack)) == {"antigravity-2"}
    dead = stored(stack)["antigravity-1"]
    assert dead.status == "dead"
    assert dead.status_reason is not None and dead.status_reason.startswith("re-login needed")


def test_forbidden_disables_with_the_upstreams_reason(stack: Stack, key: str) -> None:
    stack.fault("forbidden", reason="SUBSCRIPTION_REQUIRED")
    assert generate(stack, key).status_code == 200
    refused, served = seen(stack)
    assert served == _other(refused)
    account = stored(stack)[refused]
    assert account.status == "forbidden"
    assert account.status_reason is not None and "licence" in account.status_reason
    for _ in range(2):
        assert generate(stack, key).status_code == 200
    assert seen(stack)[2:] == [served, served]


def test_verification_rests_the_account_with_the_link_and_keeps_it(stack: Stack, key: str) -> None:
    url = "https://accounts.google.com/signin/continue?plt=verify-42"
    stack.fault("forbidden", reason="VALIDATION_REQUIRED", validation_url=url)
    assert generate(stack, key).status_code == 200
    refused, served = seen(stack)
    assert served == _other(refused)
    account = stored(stack)[refused]
    assert account.status == "active"
    state = state_of(stack, refused, "cooldown_until")
    assert state.cooldown_until == pytest.approx(time.time() + 3600, abs=30)
    assert state.cooldown_reason is not None and url in state.cooldown_reason
    for _ in range(2):
        assert generate(stack, key).status_code == 200
    assert seen(stack)[2:] == [served, served]


def test_server_error_retries_on_another_account_without_cooling(stack: Stack, key: str) -> None:
    stack.fault("server_error")
    assert generate(stack, key).status_code == 200
    failed, served = seen(stack)
    assert served == _other(failed)
    state = state_of(stack, failed, "last_error")
    assert state.cooldown_until is None and "500" in (state.last_error or "")
    assert all(generate(stack, key).status_code == 200 for _ in range(2))
    assert failed in seen(stack)[2:]  # a hiccup does not take a live account away


def test_server_errors_everywhere_reach_the_client_after_bounded_retries(stack: Stack, key: str) -> None:
    stack.fault("server_error", times=10)
    response = generate(stack, key)
    assert response.status_code == 502
    assert sorted(seen(stack)) == ["antigravity-1", "antigravity-2"]


def test_bad_request_goes_straight_to_the_client(stack: Stack, key: str) -> None:
    response = generate(stack, key, generationConfig={"noSuchField": 1})
    assert response.status_code == 400, response.text
    assert len(seen(stack)) == 1
    assert all(not s.states for s in stored(stack).values()) or all(
        row.cooldown_until is None for s in stored(stack).values() for row in s.states.values()
    )


def _stream(stack: Stack, key: str) -> tuple[int, bytes]:
    with httpx.stream(
        "POST",
        f"{stack.gateway}/antigravity/v1beta/models/{FLASH}:streamGenerateContent?alt=sse",
        headers={"x-goog-api-key": key},
        json={"contents": [{"role": "user", "parts": [{"text": "tell me a long story"}]}]},
        timeout=30,
    ) as response:
        return response.status_code, response.read()


def test_stream_fails_over_before_the_first_event(stack: Stack, key: str) -> None:
    stack.fault("empty_stream")
    status, body = _stream(stack, key)
    assert status == 200 and b"error" not in body and b"data: " in body
    empty, served = seen(stack)
    assert served == _other(empty)


def test_stream_does_not_fail_over_after_the_first_event(stack: Stack, key: str) -> None:
    stack.fault("drop_after_events", events=2)  # the first event alone is held back (refusals)
    status, body = _stream(stack, key)
    assert status == 200 and b'"error"' in body  # the break reaches the client as an error event
    assert len(stack.upstream_requests(GENERATE)) == 1
