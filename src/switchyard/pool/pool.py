"""Accounts per provider, their cooldowns per (account, model family), and selection.

Accounts are loaded from the store and reloaded every `reload_interval_s`, so accounts added or
disabled from the CLI (another process) are picked up; the `UpstreamAccount` objects are kept
across reloads, so what a provider learnt about one (its project, its token) is not lost.
Cooldowns live in memory for speed and are written to the store so a restart honours them.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from dataclasses import dataclass

from sqlalchemy import select

from switchyard.errors import (
    ErrorClass,
    NoAccountAvailable,
    NoAccountConfigured,
    UpstreamError,
)
from switchyard.providers import UpstreamAccount
from switchyard.store import accounts as account_store
from switchyard.store.db import Store
from switchyard.store.tables import AccountModelState

log = logging.getLogger("switchyard.pool")

DEFAULT_QUOTA_COOLDOWN_S = 3600.0
MIN_RATE_LIMIT_COOLDOWN_S = 1.0
AUTH_COOLDOWN_S = 60.0


@dataclass
class Cooldown:
    until: float
    reason: str


class AccountPool:
    """Round-robin over the usable accounts of a provider that are not resting for the model family."""

    def __init__(self, store: Store, *, reload_interval_s: float = 5.0) -> None:
        self._store = store
        self._reload_interval_s = reload_interval_s
        self._accounts: dict[str, dict[int, UpstreamAccount]] = {}
        self._loaded_at: dict[str, float] = {}
        self._cooldowns: dict[tuple[int, str], Cooldown] = {}
        self._counters: dict[tuple[str, str], itertools.count[int]] = {}
        self._lock = asyncio.Lock()
        self._cooldowns_loaded = False

    async def accounts(self, provider: str) -> list[UpstreamAccount]:
        now = time.monotonic()
        if now - self._loaded_at.get(provider, -1e9) >= self._reload_interval_s:
            async with self._lock:
                if now - self._loaded_at.get(provider, -1e9) >= self._reload_interval_s:
                    await self._reload(provider)
                    self._loaded_at[provider] = time.monotonic()
        return list(self._accounts.get(provider, {}).values())

    async def _reload(self, provider: str) -> None:
        fresh = await account_store.usable_accounts(self._store, provider)
        known = self._accounts.get(provider, {})
        merged: dict[int, UpstreamAccount] = {}
        for account in fresh:
            kept = known.get(account.id)
            if kept is not None and kept.secret == account.secret and kept.proxy_url == account.proxy_url:
                kept.project_id = kept.project_id or account.project_id
                merged[account.id] = kept
            else:
                merged[account.id] = account
        self._accounts[provider] = merged
        if not self._cooldowns_loaded:
            await self._load_cooldowns()

    async def _load_cooldowns(self) -> None:
        now = time.time()
        async with self._store.sessions() as session:
            rows = (
                await session.scalars(select(AccountModelState).where(AccountModelState.cooldown_until > now))
            ).all()
        for row in rows:
            if row.cooldown_until is not None:
                self._cooldowns[(row.account_id, row.model)] = Cooldown(
                    row.cooldown_until, row.cooldown_reason or ""
                )
        self._cooldowns_loaded = True

    def invalidate(self) -> None:
        """Reload accounts on the next request (after an admin change in this process)."""
        self._loaded_at.clear()

    def cooldown(self, account_id: int, family: str, now: float | None = None) -> Cooldown | None:
        entry = self._cooldowns.get((account_id, family))
        if entry is None:
            return None
        if entry.until <= (time.time() if now is None else now):
            del self._cooldowns[(account_id, family)]
            return None
        return entry

    async def choose(self, provider: str, family: str, exclude: set[int]) -> UpstreamAccount:
        """The next account in turn that is not resting and not already tried for this request."""
        accounts = await self.accounts(provider)
        if not accounts:
            raise NoAccountConfigured(
                f"No usable {provider} account is configured; add one with `switchyard accounts add {provider.replace('_', '-')}`."
            )
        now = time.time()
        ready = [a for a in accounts if a.id not in exclude and self.cooldown(a.id, family, now) is None]
        if not ready:
            raise self._all_resting(provider, family, accounts, exclude, now)
        counter = self._counters.setdefault((provider, family), itertools.count())
        return ready[next(counter) % len(ready)]

    def _all_resting(
        self, provider: str, family: str, accounts: list[UpstreamAccount], exclude: set[int], now: float
    ) -> NoAccountAvailable:
        resting = [(a, self.cooldown(a.id, family, now)) for a in accounts]
        cooling = [(a, c) for a, c in resting if c is not None]
        reasons: dict[str, int] = {}
        for _, entry in cooling:
            reasons[entry.reason] = reasons.get(entry.reason, 0) + 1
        why = "; ".join(f"{count} {reason}" for reason, count in sorted(reasons.items()))
        earliest = min((c.until for _, c in cooling), default=None)
        failed = len([a for a in accounts if a.id in exclude and self.cooldown(a.id, family, now) is None])
        parts = [f"All {len(accounts)} {provider} accounts for {family} models are resting"]
        if cooling:
            parts.append(f"{len(cooling)} cooling down ({why})")
        if failed:
            parts.append(f"{failed} just failed for this request")
        message = ": ".join(parts[:1]) + (": " + ", ".join(parts[1:]) if len(parts) > 1 else "") + "."
        return NoAccountAvailable(message, retry_after=(earliest - now) if earliest else 1.0)

    async def rest(self, account: UpstreamAccount, family: str, seconds: float, reason: str) -> None:
        until = time.time() + max(0.0, seconds)
        self._cooldowns[(account.id, family)] = Cooldown(until, reason)
        await account_store.save_model_state(
            self._store, account.id, family, cooldown_until=until, cooldown_reason=reason, last_error=reason
        )

    async def disable(
        self, account: UpstreamAccount, status: str, reason: str, url: str | None = None
    ) -> None:
        """Take an account out of rotation until an operator acts (dead token, ban, verification)."""
        log.warning("account %s is now %s: %s", account.name, status, reason)
        self._accounts.get(account.provider, {}).pop(account.id, None)
        await account_store.update_account(
            self._store, account.name, status=status, status_reason=reason, status_url=url, last_error=reason
        )

    async def on_failure(self, account: UpstreamAccount, family: str, error: UpstreamError) -> None:
        """What an upstream failure does to the account that met it."""
        kind = error.error_class
        if kind == ErrorClass.ACCOUNT_DEAD:
            await self.disable(account, "dead", error.reason or error.message)
        elif kind == ErrorClass.FORBIDDEN:
            await self.disable(account, "forbidden", error.message, error.url)
        elif kind == ErrorClass.QUOTA_EXHAUSTED:
            delay = error.seconds_until_reset()
            await self.rest(
                account, family, delay if delay is not None else DEFAULT_QUOTA_COOLDOWN_S, "quota exhausted"
            )
        elif kind == ErrorClass.RATE_LIMITED:
            delay = error.seconds_until_reset() or MIN_RATE_LIMIT_COOLDOWN_S
            await self.rest(account, family, max(delay, MIN_RATE_LIMIT_COOLDOWN_S), "rate limited")
        elif kind == ErrorClass.UNAUTHENTICATED:
            await self.rest(account, family, AUTH_COOLDOWN_S, "token refused")

    async def on_success(self, account: UpstreamAccount) -> None:
        """Persist what a provider discovered about the account during the call."""
        stored_project = account.meta.get("_stored_project")
        if account.project_id and account.project_id != stored_project:
            await account_store.update_account(self._store, account.name, project_id=account.project_id)
            account.meta["_stored_project"] = account.project_id
