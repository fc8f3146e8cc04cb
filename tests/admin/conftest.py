"""A gateway on the OAuth and Cloud Code emulators with a known admin key, for the console's tests."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.stack import Stack, antigravity_stack

ADMIN_KEY = "sy-admin-test-key-0123456789abcdef"


def admin_client(stack: Stack, key: str | None = ADMIN_KEY) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=stack.gateway, headers=headers, timeout=30)


def generate(stack: Stack, key: str, model: str = "gemini-2.5-flash") -> httpx.Response:
    """A client request through the gateway, as any Gemini-native client would send it."""
    return httpx.post(
        f"{stack.gateway}/antigravity/v1beta/models/{model}:generateContent",
        headers={"x-goog-api-key": key},
        json={"contents": [{"role": "user", "parts": [{"text": "hello there"}]}]},
        timeout=30,
    )


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with antigravity_stack(tmp_path, accounts_count=1, admin_key=ADMIN_KEY) as running:
        yield running


@pytest.fixture
def api(stack: Stack) -> Iterator[httpx.Client]:
    with admin_client(stack) as client:
        yield client


def wait_for(check: Any, timeout_s: float = 5.0) -> Any:
    """Poll `check()` until it returns something truthy (usage events are written in batches)."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.05)
