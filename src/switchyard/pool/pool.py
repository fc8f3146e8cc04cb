"""Accounts per provider, selection per (provider, model family), and what a failure does to one.

Accounts are loaded from the store and reloaded every `reload_interval_s`, and at once after a
change announced on the change feed (`shared/changes.py`: admin API or CLI, on any instance); the `UpstreamAccount`
objects are kept across reloads, so what a provider learnt about one (its project, its token) is
not lost. Quota numbers come with each reload from `account_model_state`. Fast-changing state
(cooldowns, slots, rate windows, sticky sessions) is in a `PoolState`; cooldowns are also written
to the store so a restart honours them. No lock is held across an upstream call.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from typing import Any

from switchyard.errors import NoAccountConfigured, UpstreamError
from switchyard.pool import persist
from switchyard.pool.decisions import Action, Decision, decide
from switchyard.pool.resting import unavailable
from switchyard.pool.selection import Candidate, Strategy, rank
from switchyard.pool.state import Cooldown, MemoryPoolState, PoolState, Slot
from switchyard.pool.stream import tokens_of
from switchyard.pool.waiting import SlotQueue, Waiter
from switchyard.redis_link import Gate
from switchyard.shared.accounts import UpstreamAccount
from switchyard.store import accounts as account_store
from switchyard.store.db import Store
from switchyard.store.reachable import store_unreachable

log = logging.getLogger("switchyard.pool")

BUSY_POLL_S = 0.25


class AccountPool:
    """Chooses an account per request and applies the decision table to its failures."""

    def __init__(
        self,
        store: Store,
        *,
        reload_interval_s: float = 5.0,
        state: PoolState | None = None,
        strategy: Strategy = "quota-aware",
        sticky_sessions: bool = True,
        max_concurrency: int = 0,
        flush_interval_s: float = 1.0,
        sticky_ttl_s: float = 3600.0,
        busy_wait_s: float = 30.0,
    ) -> None:
        self._store = store
        self._reload_interval_s = reload_interval_s
        self.state: PoolState = state if state is not None else MemoryPoolState()
        self.strategy: Strategy = strategy
        self.sticky_sessions = sticky_sessions
        self.sticky_ttl_s = sticky_ttl_s
        self.busy_wait_s = busy_wait_s
        self._waiting: dict[str, SlotQueue] = {}
        """Requests waiting for a slot, per provider (`waiting.py`)."""
        self._held: dict[int, list[Slot]] = {}
        """This process's slots per account (leases with Redis), given back by `release`."""
        self.max_concurrency = max_concurrency
        self._flush_interval_s = flush_interval_s
        self._accounts: dict[str, dict[int, UpstreamAccount]] = {}
        self._quotas: dict[tuple[int, str], persist.Quota] = {}
        self._loaded_at: dict[str, float] = {}
        self._generation = 0
        """Bumped by `invalidate`: a reload that began before a change does not count as fresh."""
        self._turns: dict[tuple[str, str], itertools.count[int]] = {}
        self._lock = asyncio.Lock()
        self._cooldowns_loaded = False
        self.counters = persist.Counters()
        self._writes: set[asyncio.Task[None]] = set()
        self._flusher: asyncio.Task[None] | None = None
        self.on_quota_error: Callable[[UpstreamAccount], None] | None = None
        """Set by the quota refresher: asks for a refresh of one account after a quota error."""

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start writing counters to the store in the background (and the state's own tasks)."""
        start_state = getattr(self.state, "start", None)
        if start_state is not None:
            start_state()
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_loop(), name="pool-counters")

    async def aclose(self) -> None:
        """Stop the writer, write what is left, close the state."""
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        await self.settle()
        await self.flush()
        await self.state.aclose()

    async def flush(self) -> None:
        await self.counters.flush(self._store)

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self._flush_interval_s)
            try:
                await self.flush()
            except Exception as error:  # a store hiccup must not end the loop; counts are kept
                if store_unreachable(error):
                    self._store.health.failed(error)
                else:
                    log.exception("writing account counters failed; will retry")

    def _in_background(self, write: Coroutine[Any, Any, None]) -> None:
        """Persist off the request path: the state already holds the decision, and a busy store
        (SQLite under load) must not hold up the request that is switching accounts."""
        task = asyncio.create_task(_persisting(write))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def settle(self) -> None:
        """Wait for the background writes (shutdown, and tests that read the store)."""
        while self._writes:
            await asyncio.gather(*list(self._writes))

    # --- accounts ----------------------------------------------------------------------------

    async def accounts(self, provider: str) -> list[UpstreamAccount]:
        now = time.monotonic()
        if now - self._loaded_at.get(provider, -1e9) >= self._reload_interval_s:
            async with self._lock:
                if now - self._loaded_at.get(provider, -1e9) >= self._reload_interval_s:
                    generation = self._generation
                    try:
                        await self._reload(provider)
                    except Exception as error:
                        # An unreachable store: serve the accounts already in memory (none: 503).
                        if provider not in self._accounts or not store_unreachable(error):
                            raise
                        self._store.health.failed(error)
                    else:
                        self._store.health.ok()
                    if generation == self._generation:
                        self._loaded_at[provider] = time.monotonic()
        return list(self._accounts.get(provider, {}).values())

    async def _reload(self, provider: str) -> None:
        if not self._cooldowns_loaded:
            for account_id, family, until, reason in await persist.load_cooldowns(self._store):
                await self.state.set_cooldown(account_id, family, Cooldown(until, reason))
            self._cooldowns_loaded = True
        fresh = await account_store.usable_accounts(self._store, provider)
        known = self._accounts.get(provider, {})
        merged: dict[int, UpstreamAccount] = {}
        for account in fresh:
            kept = known.get(account.id)
            if kept is not None and kept.secret == account.secret and kept.proxy_url == account.proxy_url:
                kept.project_id = kept.project_id or account.project_id
                kept.user_agent = account.user_agent  # an operator's change applies on the next reload
                merged[account.id] = kept
            else:
                merged[account.id] = account
        self._accounts[provider] = merged
        quotas = await persist.load_quotas(self._store, merged)
        self._quotas = {k: v for k, v in self._quotas.items() if k[0] not in merged} | quotas

    def invalidate(self) -> None:
        """Reload accounts on the next request (an account changed here or on another instance)."""
        self._generation += 1
        self._loaded_at.clear()

    def quota(self, account_id: int, family: str) -> persist.Quota | None:
        return self._quotas.get((account_id, family))

    # --- selection ---------------------------------------------------------------------------

    async def choose(
        self,
        provider: str,
        family: str,
        exclude: set[int],
        *,
        session: str | None = None,
        queue_as: Hashable = None,
        gate: Gate | None = None,
    ) -> UpstreamAccount:
        """The best ready account, with one of its concurrency slots taken (give it back with
        `release`). Resting and excluded accounts are skipped, and so are full ones while another
        is free; only when every ready account is full does the request queue for a slot, at most
        `busy_wait_s`, taking its turn among the waiters as `queue_as` (its key: see `waiting.py`).
        Nothing left → NoAccountAvailable, saying why. `gate` (a key's admission still to be
        checked) rides with the take; a request about to wait has it checked on its own first."""
        deadline = time.monotonic() + self.busy_wait_s
        queue = self._waiting.setdefault(provider, SlotQueue())
        waiter: Waiter | None = None
        my_turn = woken = False
        try:
            while True:
                accounts = await self.accounts(provider)
                if not accounts:
                    raise NoAccountConfigured(
                        f"No usable {provider} account is configured; add one with "
                        f"`switchyard accounts add {provider.replace('_', '-')}`."
                    )
                cooling = await self.state.cooldowns(family, [a.id for a in accounts])
                ready = {a.id: a for a in accounts if a.id not in exclude and a.id not in cooling}
                # While others wait, a newcomer queues behind them instead of taking the slot first.
                if ready and (my_turn if waiter is not None else not queue):
                    chosen = await self._take_slot(provider, family, ready, session, gate)
                    if chosen is not None:
                        if waiter is not None:
                            looked = not (woken and waiter.passes_on)  # polled: freed elsewhere
                            queue.leave(waiter, served=True)
                            waiter = None
                            if looked:  # more may be free: the next waiter looks too
                                queue.wake_first(passes_on=False)
                        return chosen
                    if woken and waiter is not None and waiter.passes_on:
                        queue.wake_after(waiter)  # a slot freed here it cannot use: the next may
                remaining = deadline - time.monotonic()
                if not ready or remaining <= 0:
                    raise unavailable(provider, family, accounts, cooling, exclude, busy=set(ready))
                if waiter is None:
                    if gate is not None:
                        await gate.alone()  # a refused request does not queue for a slot
                    waiter = queue.join(queue_as)
                # The first waiter polls too: a slot freed by another instance wakes nobody here.
                woken = await waiter.wait(min(remaining, BUSY_POLL_S))
                my_turn = woken or queue.first() is waiter
        finally:
            if waiter is not None:  # gave up (deadline, cancelled); a turn it held goes on
                queue.leave(waiter, served=False)

    async def _take_slot(
        self,
        provider: str,
        family: str,
        ready: dict[int, UpstreamAccount],
        session: str | None,
        gate: Gate | None = None,
    ) -> UpstreamAccount | None:
        """The first account of the ranking (the conversation's own first) with a free slot."""
        ranking = await self._ranking(provider, family, list(ready))
        sticky = session if session and self.sticky_sessions else None
        slot = await self.state.take(
            ranking, self.max_concurrency, family, session=sticky, sticky_ttl_s=self.sticky_ttl_s, gate=gate
        )
        if slot is None:
            return None
        self._held.setdefault(slot.account_id, []).append(slot)
        return ready[slot.account_id]

    async def _ranking(self, provider: str, family: str, ids: list[int]) -> list[int]:
        in_flight = await self.state.in_flight(ids)
        uses = await self.state.recent_uses(family, ids) if self.strategy != "round-robin" else {}
        now = time.time()
        candidates = []
        for account_id in ids:
            quota = self._quotas.get((account_id, family))
            candidates.append(
                Candidate(
                    account_id,
                    in_flight=in_flight.get(account_id, 0),
                    recent_uses=uses.get(account_id, 0),
                    quota_remaining=quota.effective(now) if quota is not None else None,
                )
            )
        turn = next(self._turns.setdefault((provider, family), itertools.count()))
        return rank(self.strategy, candidates, turn)

    async def release(self, account: UpstreamAccount) -> None:
        """Give back a slot `choose` took on this account (this process's slots of one account are
        alike), and wake the request whose turn it is."""
        queue = self._waiting.get(account.provider)
        held = self._held.get(account.id)
        if held:
            slot = held.pop()
            if not held:
                del self._held[account.id]
            # A slot someone waits for goes back to Redis at once, not with the request's batch.
            await self.state.release(slot, urgent=bool(queue))
        if queue:
            queue.wake_first()

    # --- outcomes ----------------------------------------------------------------------------

    async def count_request(self, account: UpstreamAccount, family: str, *, noted: bool = False) -> None:
        """One upstream request is about to be sent as `account` (rate window and counters);
        `noted`: `choose` counted it in the rate window already (the state's `take` does)."""
        self.counters.add(account.id, family, requests=1)
        if not noted:
            await self.state.note_use(account.id, family)

    def count_tokens(self, account: UpstreamAccount, family: str, tokens: int) -> None:
        if tokens > 0:
            self.counters.add(account.id, family, tokens=tokens)

    async def rest(self, account: UpstreamAccount, family: str, seconds: float, reason: str) -> None:
        """Cool the (account, family) for `seconds`, here and in the store."""
        until = time.time() + max(0.0, seconds)
        log.info("account %s rests for %s models for %.1fs: %s", account.name, family, seconds, reason)
        await self.state.set_cooldown(account.id, family, Cooldown(until, reason))
        self._in_background(
            persist.save_state(self._store, account.id, family, cooldown_until=until, cooldown_reason=reason)
        )

    async def disable(
        self, account: UpstreamAccount, status: str, reason: str, url: str | None = None
    ) -> None:
        """Take an account out of rotation until an operator acts (dead token, ban, verification)."""
        log.warning("account %s is now %s: %s", account.name, status, reason)
        self._accounts.get(account.provider, {}).pop(account.id, None)
        await _persisting(
            account_store.update_account(
                self._store,
                account.name,
                status=status,
                status_reason=reason,
                status_url=url,
                last_error=reason,
            )
        )

    async def on_failure(
        self,
        account: UpstreamAccount,
        family: str,
        error: UpstreamError,
        *,
        same_account_waits: int = 0,
        failures: int = 1,
        earlier_same: int = 0,
    ) -> Decision:
        """Apply the decision table's row for `error` to the account; return the decision."""
        decision = decide(
            error, same_account_waits=same_account_waits, failures=failures, earlier_same=earlier_same
        )
        if decision.action == Action.DISABLE_AND_SWITCH:
            await self.disable(account, decision.status or "disabled", decision.reason, error.url)
        elif decision.cooldown_s > 0:
            await self.rest(account, family, decision.cooldown_s, decision.reason)
        if decision.action in {Action.COOL_AND_SWITCH, Action.RETRY_SAME, Action.SWITCH}:
            self._in_background(
                persist.save_state(self._store, account.id, family, last_error=_short(error.message))
            )
        if decision.refresh_quota and self.on_quota_error is not None:
            self.on_quota_error(account)
        return decision

    async def on_success(self, account: UpstreamAccount) -> None:
        """Persist what a provider discovered about the account during the call."""
        stored_project = account.meta.get("_stored_project")
        if account.project_id and account.project_id != stored_project:
            await account_store.update_account(self._store, account.name, project_id=account.project_id)
            account.meta["_stored_project"] = account.project_id

    async def set_quotas(self, account: UpstreamAccount, quotas: dict[str, persist.Quota]) -> None:
        """Record fresh quota numbers; a family with none left rests until its reset."""
        self._quotas.update({(account.id, family): quota for family, quota in quotas.items()})
        await persist.save_quotas(self._store, account.id, quotas)
        now = time.time()
        for family, quota in quotas.items():
            if quota.remaining <= 0 and quota.reset_at is not None and quota.reset_at > now:
                known = await self.state.cooldowns(family, [account.id])
                if account.id not in known or known[account.id].until < quota.reset_at:
                    await self.rest(account, family, quota.reset_at - now, "quota exhausted")


__all__ = ["AccountPool", "tokens_of"]


async def _persisting(write: Awaitable[object]) -> None:
    """Run a store write on the request path; a failing store must not fail the request (the
    in-memory or Redis state already holds the decision), so the error is logged, not raised."""
    try:
        await write
    except Exception as error:
        if not store_unreachable(error):  # an unreachable store is logged once, by its health
            log.exception("could not persist account state")


def _short(text: str, limit: int = 500) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
