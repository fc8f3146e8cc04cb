"""Issue 17 #1: text a client chose never stops usage rows from being written, on either store."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from switchyard.config import Settings
from switchyard.store.db import Store
from switchyard.store.tables import UsageEvent
from switchyard.usage import UsageRecord, UsageRecorder
from tests.conftest import run_with_store
from tests.stack import antigravity_stack

CHAT = "/antigravity/v1/chat/completions"


def _usage_rows(settings: Settings) -> dict[str, list[str | None]]:
    """request id → the model names stored under it."""

    async def read(store: Store) -> dict[str, list[str | None]]:
        async with store.sessions() as session:
            rows = await session.execute(select(UsageEvent.request_id, UsageEvent.model))
            found: dict[str, list[str | None]] = {}
            for request_id, model in rows:
                found.setdefault(request_id, []).append(model)
            return found

    return dict(run_with_store(settings, read))


def test_a_model_name_with_a_nul_byte_does_not_block_usage_rows(
    store_settings: Settings, tmp_path: Path
) -> None:
    with antigravity_stack(tmp_path, accounts_count=1, database_url=store_settings.database_url) as stack:
        key = stack.create_key("nul-key")

        def chat(model: str, request_id: str) -> int:
            return httpx.post(
                stack.gateway + CHAT,
                headers={"Authorization": f"Bearer {key}", "x-request-id": request_id},
                json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
                timeout=30,
            ).status_code

        assert chat("gemini-2.5-flash\u0000", "bad-model") == 404
        assert chat("gemini\u0000" + "x" * 300, "bad-model") == 404
        time.sleep(0.3)  # a flush or two with only the bad events in the buffer
        served = [f"good-{index}" for index in range(3)]
        assert [chat("gemini-2.5-flash", request_id) for request_id in served] == [200] * 3
        deadline = time.monotonic() + 10
        rows = _usage_rows(stack.settings)
        while not set(served) <= rows.keys() and time.monotonic() < deadline:
            time.sleep(0.1)
            rows = _usage_rows(stack.settings)
    assert set(served) <= rows.keys()
    # The refused requests are kept too, their model names made storable: no NUL, within the column.
    stored = rows["bad-model"]
    assert len(stored) == 2
    assert all(model and "\x00" not in model and len(model) <= 100 for model in stored), stored


def _record(request_id: str, **changes: Any) -> UsageRecord:
    values: dict[str, Any] = {
        "created_at": time.time(),
        "request_id": request_id,
        "key_id": None,
        "key_name": "k",
        "surface": "openai",
        "provider": "antigravity",
        "model": "gemini-2.5-flash",
        "account": "a",
        "status": 200,
        "error_class": None,
        "stream": False,
        "prompt_tokens": 1,
        "completion_tokens": 1,
        "reasoning_tokens": 0,
        "latency_ms": 1.0,
        "ttfb_ms": None,
    }
    values.update(changes)
    return UsageRecord(**values)


def test_an_event_the_store_refuses_is_dropped_and_the_rest_of_its_batch_written(
    store_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    async def work(store: Store) -> tuple[int, int]:
        recorder = UsageRecorder(store, flush_interval_s=60)
        for index in range(4):
            recorder.record(_record(f"fine-{index}", model=f"m\ud800{index}"))
            if index == 1:  # more tokens than the column holds on either store
                recorder.record(_record("refused", prompt_tokens=2**70))
        first = await recorder.flush()
        second = await recorder.flush()  # nothing is left to retry
        await recorder.close()
        return first, second

    first, second = run_with_store(store_settings, work)
    assert (first, second) == (4, 0)
    rows = _usage_rows(store_settings)
    assert sorted(rows) == [f"fine-{index}" for index in range(4)]
    assert rows["fine-0"] == ["m\ufffd0"]
    dropped = [r for r in caplog.records if "dropped a usage event" in r.getMessage()]
    assert len(dropped) == 1 and "refused" in dropped[0].getMessage()
