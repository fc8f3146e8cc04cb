"""The Gemini web conversation table under identical concurrent writers (issue 17 #6)."""

from __future__ import annotations

import asyncio

from switchyard.config import Settings
from switchyard.store import web_conversations
from switchyard.store.db import Store
from tests.conftest import run_with_store


def test_identical_conversations_remembered_at_once_do_not_collide(store_settings: Settings) -> None:
    async def work(store: Store) -> web_conversations.KnownConversation | None:
        await asyncio.gather(
            *(
                web_conversations.remember(
                    store,
                    "same-digest",
                    account=f"gemini-web-{index}",
                    model="gemini-3-pro",
                    metadata=["c_1", "r_1", "rc_1"],
                    ttl_s=600,
                    max_rows=100,
                )
                for index in range(8)
            )
        )
        return await web_conversations.find_longest(store, ["same-digest"])

    found = run_with_store(store_settings, work)
    assert found is not None and found.metadata == ["c_1", "r_1", "rc_1"]
