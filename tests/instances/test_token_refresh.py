"""Three instances refresh each account's access token once between them, and discover each
account's project once (`shared/flight.py`), against the Google OAuth and Cloud Code emulators."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import redis

from tests.instances.cluster import instances, shared_settings
from tests.stack import Stack, antigravity_stack

TOKEN_LIFETIME_S = 6.0
"""The emulator's access tokens live 6 s, so the gateway refreshes them after 3 (half the life)."""


def _token_calls(stack: Stack) -> Counter[str]:
    log = httpx.get(f"{stack.oauth}/_control/requests").json()
    return Counter(entry["account"] for entry in log if entry["path"] == "/token")


def _assert_tokens_sealed(redis_url: str, prefix: str, accounts: int) -> None:
    """The shared tokens rest in Redis encrypted (Fernet, the store's key), one per account."""
    client = redis.Redis.from_url(redis_url)
    try:
        values = [
            client.get(name) for name in client.scan_iter(f"{prefix}:flight:token:*") if b":lock" not in name
        ]
    finally:
        client.close()
    assert len(values) == accounts
    assert all(value and value.startswith(b"gAAAAA") and b"access_token" not in value for value in values)


def _burst(urls: list[str], key: str, per_instance: int) -> list[int]:
    """`per_instance` concurrent chat requests on every instance at once; their statuses."""
    body = {"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}]}

    def chat(url: str) -> int:
        reply = httpx.post(
            f"{url}/antigravity/v1/chat/completions",
            json=body,
            headers={"authorization": f"Bearer {key}"},
            timeout=60,
        )
        return reply.status_code

    with ThreadPoolExecutor(len(urls) * per_instance) as threads:
        return list(threads.map(chat, urls * per_instance))


def test_concurrent_first_requests_on_three_instances_refresh_each_account_once(tmp_path: Path) -> None:
    with antigravity_stack(
        tmp_path, accounts_count=2, token_lifetime_s=TOKEN_LIFETIME_S, quota_refresh_interval_s=0
    ) as stack:
        # Round robin without sticky sessions: every instance uses both accounts in every burst.
        settings = shared_settings(stack.settings, pool_strategy="round-robin", pool_sticky_sessions=False)
        key = stack.create_key()
        for name in stack.account_names:  # a slow token endpoint: every instance asks meanwhile
            httpx.post(
                f"{stack.oauth}/_control/faults",
                json={"fault": "delay_ms", "delay_ms": 300, "times": 100, "match": {"account": name}},
            ).raise_for_status()
        with instances(settings, 3) as urls:
            assert _burst(urls, key, per_instance=4) == [200] * 12
            assert _token_calls(stack) == {name: 1 for name in stack.account_names}
            _assert_tokens_sealed(settings.redis_url or "", settings.redis_prefix, len(stack.account_names))
            discoveries = Counter(entry["account"] for entry in stack.upstream_requests("loadCodeAssist"))
            assert discoveries == {name: 1 for name in stack.account_names}

            time.sleep(TOKEN_LIFETIME_S / 2 + 0.5)  # past every instance's refresh point
            assert _burst(urls, key, per_instance=4) == [200] * 12
            assert _token_calls(stack) == {name: 2 for name in stack.account_names}
