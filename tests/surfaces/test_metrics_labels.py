"""`/metrics` stays bounded whatever model names clients send (issue 17 #8)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.stack import Stack, antigravity_stack

CHAT = "/antigravity/v1/chat/completions"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with antigravity_stack(tmp_path, accounts_count=1) as running:
        yield running


def _model_labels(stack: Stack) -> set[str]:
    labels = set()
    for line in httpx.get(stack.gateway + "/metrics").text.splitlines():
        if line.startswith("switchyard_requests_total{"):
            labels.add(line.split('model="', 1)[1].split('"', 1)[0])
    return labels


def test_unknown_model_names_never_become_labels(stack: Stack) -> None:
    key = stack.create_key("metrics")
    headers = {"Authorization": f"Bearer {key}"}
    invented = [f"made-up-{uuid.uuid4().hex[:8]}" for _ in range(5)]
    for model in invented:
        chat = httpx.post(
            stack.gateway + CHAT,
            headers=headers,
            json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
            timeout=30,
        )
        assert chat.status_code == 404
        # refused before the upstream sees it (400): still not a served model
        bad = httpx.post(
            stack.gateway + CHAT,
            headers=headers,
            json={"model": model, "messages": [{"role": "user", "content": "hi"}], "n": 0},
            timeout=30,
        )
        assert bad.status_code == 400
        native = httpx.post(
            f"{stack.gateway}/antigravity/v1beta/models/{model}:generateContent",
            headers={"x-goog-api-key": key},
            json={"contents": [{"parts": [{"text": "hi"}]}]},
            timeout=30,
        )
        assert native.status_code == 404
    served = httpx.post(
        stack.gateway + CHAT,
        headers=headers,
        json={"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}], "n": 0},
        timeout=30,
    )
    assert served.status_code == 400  # a known model keeps its label even when the request fails
    labels = _model_labels(stack)
    assert "gemini-2.5-flash" in labels and "other" in labels
    assert not labels & set(invented), labels
