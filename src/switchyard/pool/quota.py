"""The background quota refresher: remaining quota per (account, model family), kept fresh.

Quota-aware selection and `switchyard accounts list` read the numbers from `account_model_state`;
this task writes them: for every usable account at start-up, then every
`quota_refresh_interval_s`, and for one account right after it met a quota error (so the exact
reset time replaces the guess). A family with nothing left rests until its reset before any
request has to fail on it. Reading quotas also uses the account's access token, so the token cache
refreshes it ahead of expiry on the way (`TokenCache` renews 5 minutes early).

The refresher is provider-neutral: a `QuotaSource` per provider turns an account into quotas
(`antigravity_quotas` reads `fetchAvailableModels`); a provider without one is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping

from switchyard.errors import ErrorClass, UpstreamError
from switchyard.pool.decisions import TABLE, Action
from switchyard.pool.persist import Quota
from switchyard.pool.pool import AccountPool
from switchyard.providers.antigravity.client import AntigravityClient, group_quotas, parse_quotas
from switchyard.shared.accounts import UpstreamAccount

log = logging.getLogger("switchyard.pool.quota")

QuotaSource = Callable[[UpstreamAccount], Awaitable[dict[str, Quota]]]
REFRESH_CONCURRENCY = 4
"""Accounts read at once: thousands of accounts must not burst the upstream at start-up."""


def antigravity_quotas(client: AntigravityClient) -> QuotaSource:
    """Quotas from `fetchAvailableModels`: per quota group (Gemini; Claude + gpt-oss, §12.1) the
    model with the least left; the pool rests accounts per group. Internal ids are left out."""

    async def read(account: UpstreamAccount) -> dict[str, Quota]:
        reply = await client.fetch_available_models(account)
        groups = group_quotas(client.catalogue, parse_quotas(reply))
        return {group: Quota(q.remaining_fraction, q.reset_at) for group, q in groups.items()}

    return read


class QuotaRefresher:
    """Runs the refresh loop and the on-demand refreshes; `start` in the lifespan, `aclose` after."""

    def __init__(self, pool: AccountPool, sources: Mapping[str, QuotaSource], interval_s: float) -> None:
        self._pool = pool
        self._sources = dict(sources)
        self._interval_s = interval_s
        self._loop_task: asyncio.Task[None] | None = None
        self._one_off: dict[int, asyncio.Task[None]] = {}
        self._limit = asyncio.Semaphore(REFRESH_CONCURRENCY)

    def start(self) -> None:
        """Start the periodic loop (none when the interval is 0) and take on-demand requests."""
        self._pool.on_quota_error = self.request
        if self._interval_s > 0 and self._loop_task is None:
            self._loop_task = asyncio.create_task(self._run(), name="quota-refresher")

    def request(self, account: UpstreamAccount) -> None:
        """Refresh one account soon (after a quota error); a refresh already running covers it."""
        if account.provider not in self._sources or account.id in self._one_off:
            return
        task = asyncio.create_task(self.refresh_one(account), name=f"quota-{account.name}")
        self._one_off[account.id] = task
        task.add_done_callback(lambda _: self._one_off.pop(account.id, None))

    async def aclose(self) -> None:
        self._pool.on_quota_error = None
        tasks = [t for t in (self._loop_task, *self._one_off.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._loop_task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.refresh_all()
            except Exception:  # the loop must survive a store or network hiccup
                log.exception("quota refresh failed; trying again next interval")
            await asyncio.sleep(self._interval_s)

    async def refresh_all(self) -> None:
        """Every usable account of every provider that has a quota source."""
        for provider in self._sources:
            accounts = await self._pool.accounts(provider)
            await asyncio.gather(*(self.refresh_one(account) for account in accounts))

    async def refresh_one(self, account: UpstreamAccount) -> None:
        """Read and record one account's quotas. A dead or refused account is disabled by the
        decision table like after a request; other failures only wait for the next round."""
        source = self._sources.get(account.provider)
        if source is None:
            return
        async with self._limit:
            try:
                quotas = await source(account)
            except UpstreamError as error:
                if TABLE[error.error_class].action == Action.DISABLE_AND_SWITCH:
                    await self._pool.on_failure(account, "-", error)
                elif error.error_class != ErrorClass.TRANSIENT:
                    log.info("quota of account %s not read: %s", account.name, error.message)
                return
        await self._pool.set_quotas(account, quotas)
