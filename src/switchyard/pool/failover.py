"""Running a call on one account after another, by the decision table (`decisions.py`).

A failure the client caused (bad request, unknown model) ends the request at once. Any other
failure is handed to `AccountPool.on_failure`, which rests or disables the account as the table
says; the request then waits and retries the same account (a short rate limit) or moves on to
another one, up to `max_attempts` accounts. For streams the switch is only possible until the
first event has been received: after that the client has bytes, and a failure becomes an error
event. Every account is held through a concurrency slot from `choose` until its call (or its
stream) is over, so per-account caps hold and a slow account never delays another's requests.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from typing import TypeVar

from switchyard.errors import ErrorClass, NoAccountAvailable, StreamInterrupted, UpstreamError
from switchyard.pool.decisions import Action
from switchyard.pool.pool import AccountPool
from switchyard.pool.stream import TrackedStream, close_quietly, tokens_of
from switchyard.redis_link import Gate
from switchyard.shared.accounts import UpstreamAccount
from switchyard.shared.context import RequestContext

T = TypeVar("T")
DEFAULT_MAX_ATTEMPTS = 4
"""Accounts tried per request; waits on the same account (short rate limits) are not counted."""
_RESTING_ACTIONS = frozenset({Action.COOL_AND_SWITCH, Action.RETRY_SAME})


async def run_unary(
    pool: AccountPool,
    ctx: RequestContext,
    family: str,
    call: Callable[[UpstreamAccount], Awaitable[T]],
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    session: str | None = None,
    avoid: Collection[int] = (),
) -> T:
    """`call(account)` on the accounts the pool offers until one succeeds. `session` (see
    `selection.session_key`) keeps a conversation on one account while it is healthy; `avoid`
    names accounts known not to serve the model (they are never chosen)."""
    attempts = Attempts(pool, ctx, family, max_attempts=max_attempts, session=session, avoid=avoid)
    while True:
        account = await attempts.next_account()
        try:
            result = await call(account)
        except UpstreamError as error:
            await attempts.failed(account, error)
            continue
        except BaseException:
            await pool.release(account)
            raise
        await pool.release(account)
        pool.count_tokens(account, family, tokens_of(result))
        await pool.on_success(account)
        return result


async def open_stream(
    pool: AccountPool,
    ctx: RequestContext,
    family: str,
    start: Callable[[UpstreamAccount], AsyncIterator[T]],
    *,
    tokens: Callable[[T], int],
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    session: str | None = None,
    avoid: Collection[int] = (),
) -> tuple[T, AsyncIterator[T]]:
    """The first item (an event, or a batch of events) and the rest of the stream, from the first
    account that produced one.

    The rest holds the account's slot until it is exhausted or closed (`aclose`), and counts the
    stream's tokens for the account (`tokens` reads them from an item)."""
    attempts = Attempts(pool, ctx, family, max_attempts=max_attempts, session=session, avoid=avoid)
    while True:
        account = await attempts.next_account()
        events = start(account)
        try:
            first = await anext(events)
        except StopAsyncIteration:
            await close_quietly(events)
            await attempts.failed(account, _empty_stream())
            continue
        except UpstreamError as failure:
            await close_quietly(events)
            await attempts.failed(account, failure)
            continue
        except BaseException:
            await close_quietly(events)
            await pool.release(account)
            raise
        await pool.on_success(account)
        return first, TrackedStream(pool, account, family, first, events, tokens)


def _empty_stream() -> UpstreamError:
    return StreamInterrupted("The upstream ended the stream without sending anything.")


class Attempts:
    """One request's walk through the accounts: which were tried, the last error, the waits."""

    def __init__(
        self,
        pool: AccountPool,
        ctx: RequestContext,
        family: str,
        *,
        max_attempts: int,
        session: str | None,
        avoid: Collection[int] = (),
    ) -> None:
        self.pool, self.ctx, self.family = pool, ctx, family
        self.max_attempts, self.session = max_attempts, session
        self.tried: set[int] = set(avoid)
        self.accounts_used = 0
        self.failures = 0
        self.failures_by_class: Counter[ErrorClass] = Counter()
        self.same_account_waits = 0
        self.retry_same: UpstreamAccount | None = None
        self.last: UpstreamError | None = None
        self.last_action: Action | None = None

    async def next_account(self) -> UpstreamAccount:
        """The account for the next attempt, its slot taken and the request counted."""
        account = await self._waited_account()
        chosen = account is None
        if account is None:
            if self.last is not None and self.accounts_used >= self.max_attempts:
                raise self.last
            account = await self._choose()
            self.accounts_used += 1
            self.same_account_waits = 0
        self.ctx.account = account.name
        await self.pool.count_request(account, self.family, noted=chosen)
        return account

    async def _waited_account(self) -> UpstreamAccount | None:
        """The account this request waited for (short rate limit), its slot still held; None if
        there is none, or if another request cooled it meanwhile (its quota ran out, say)."""
        account, self.retry_same = self.retry_same, None
        if account is not None and await self.pool.state.cooldowns(self.family, [account.id]):
            await self.pool.release(account)
            self.tried.add(account.id)
            return None
        return account

    async def _choose(self) -> UpstreamAccount:
        """An account from the pool, the request's key admitted: when its admission is still to
        be checked it rides with the account's take (one round trip, `KeyGuard.admit`)."""
        lease = self.ctx.lease
        try:
            if lease is None:
                return await self._take(None)
            return await lease.admitted_with(self._take, self.pool.release)
        except NoAccountAvailable:
            # After a resting-type failure the 429 (what rests, until when) is the useful answer;
            # after a transient or account-level one, the upstream's own error is.
            if self.last is not None and self.last_action not in _RESTING_ACTIONS:
                raise self.last from None
            raise

    async def _take(self, gate: Gate | None) -> UpstreamAccount:
        return await self.pool.choose(
            self.ctx.provider,
            self.family,
            self.tried,
            session=self.session,
            queue_as=self.ctx.key.id if self.ctx.key is not None else None,
            gate=gate,
        )

    async def failed(self, account: UpstreamAccount, error: UpstreamError) -> None:
        """Apply the decision table; sleep as it says; raise when the client must see the error."""
        self.ctx.error_class = str(error.error_class)
        self.failures += 1
        try:
            decision = await self.pool.on_failure(
                account,
                self.family,
                error,
                same_account_waits=self.same_account_waits,
                failures=self.failures,
                earlier_same=self.failures_by_class[error.error_class],
            )
        except BaseException:
            await self.pool.release(account)
            raise
        self.failures_by_class[error.error_class] += 1
        self.last, self.last_action = error, decision.action
        if decision.action == Action.RETRY_SAME:
            self.same_account_waits += 1
            self.retry_same = account
            try:
                await asyncio.sleep(decision.wait_s)
            except BaseException:
                self.retry_same = None
                await self.pool.release(account)
                raise
            return
        await self.pool.release(account)
        if decision.action == Action.FAIL:
            raise error
        self.tried.add(account.id)
        if decision.wait_s > 0:
            await asyncio.sleep(decision.wait_s)
