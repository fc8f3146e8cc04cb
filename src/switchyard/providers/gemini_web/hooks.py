"""`AccountHooks` for a running gateway: what the provider learns goes to the pool and the store.

The provider itself never touches the store (`providers/__init__.py`); this adapter, built in the
app's lifespan, is the one place where a rotated cookie is re-sealed, a dead session disables its
account and an IP block (1060) rests the account for every web model.
"""

from __future__ import annotations

from typing import Any

from switchyard.pool.pool import AccountPool
from switchyard.providers import UpstreamAccount
from switchyard.providers.gemini_web.models import families
from switchyard.store import accounts as account_store
from switchyard.store import web_conversations
from switchyard.store.db import Store

PROVIDER = "gemini_web"


class PoolHooks:
    def __init__(self, store: Store, pool: AccountPool) -> None:
        self.store = store
        self.pool = pool

    async def accounts(self) -> list[UpstreamAccount]:
        return await self.pool.accounts(PROVIDER)

    async def rotated(self, account: UpstreamAccount, secret: dict[str, str]) -> None:
        await account_store.update_account(self.store, account.name, secret=secret)

    async def dead(self, account: UpstreamAccount, reason: str) -> None:
        await self.pool.disable(account, "dead", reason)
        await web_conversations.forget_account(self.store, account.name)

    async def picker(self, account: UpstreamAccount, entries: list[dict[str, Any]]) -> None:
        await account_store.set_meta(self.store, account.name, account_store.WEB_PICKER_META, entries)

    async def blocked(self, account: UpstreamAccount, seconds: float, reason: str) -> None:
        for family in families():
            await self.pool.rest(account, family, seconds, reason)
