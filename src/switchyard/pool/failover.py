"""Running a call on one account after another.

A failure the client caused (bad request, unknown model) ends the request at once. Any other
failure rests or disables the account (`AccountPool.on_failure`) and the call moves on to the next
account, up to `max_attempts`. For streams, the switch is only possible until the first event has
been received: after that the client has bytes, and a failure becomes an error event.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from switchyard.errors import ErrorClass, NoAccountAvailable, StreamInterrupted, UpstreamError
from switchyard.pool.pool import AccountPool
from switchyard.providers import UpstreamAccount
from switchyard.surfaces.context import RequestContext

T = TypeVar("T")
FINAL_CLASSES = frozenset({ErrorClass.BAD_REQUEST, ErrorClass.NOT_FOUND})
DEFAULT_MAX_ATTEMPTS = 4


async def run_unary(
    pool: AccountPool,
    ctx: RequestContext,
    family: str,
    call: Callable[[UpstreamAccount], Awaitable[T]],
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> T:
    tried: set[int] = set()
    last: UpstreamError | None = None
    for _ in range(max_attempts):
        account = await _choose(pool, ctx, family, tried, last)
        try:
            result = await call(account)
        except UpstreamError as error:
            last = await _failed(pool, ctx, account, family, error, tried)
            continue
        await pool.on_success(account)
        return result
    assert last is not None
    raise last


async def open_stream(
    pool: AccountPool,
    ctx: RequestContext,
    family: str,
    start: Callable[[UpstreamAccount], AsyncIterator[dict[str, Any]]],
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> tuple[dict[str, Any], AsyncIterator[dict[str, Any]]]:
    """The first event and the rest of the stream, from the first account that produced one."""
    tried: set[int] = set()
    last: UpstreamError | None = None
    for _ in range(max_attempts):
        account = await _choose(pool, ctx, family, tried, last)
        events = start(account)
        try:
            first = await anext(events)
        except StopAsyncIteration:
            await _close(events)
            error: UpstreamError = _empty_stream()
            last = await _failed(pool, ctx, account, family, error, tried)
            continue
        except UpstreamError as failure:
            await _close(events)
            last = await _failed(pool, ctx, account, family, failure, tried)
            continue
        except BaseException:
            await _close(events)
            raise
        await pool.on_success(account)
        return first, events
    assert last is not None
    raise last


def _empty_stream() -> UpstreamError:
    return StreamInterrupted("The upstream ended the stream without sending anything.")


async def _close(events: AsyncIterator[dict[str, Any]]) -> None:
    close = getattr(events, "aclose", None)
    if close is not None:
        await close()


async def _choose(
    pool: AccountPool, ctx: RequestContext, family: str, tried: set[int], last: UpstreamError | None
) -> UpstreamAccount:
    try:
        account = await pool.choose(ctx.provider, family, tried)
    except NoAccountAvailable:
        if last is not None and not tried.issuperset({a.id for a in await pool.accounts(ctx.provider)}):
            raise last from None
        if last is not None and last.error_class not in {ErrorClass.RATE_LIMITED, ErrorClass.QUOTA_EXHAUSTED}:
            raise last from None
        raise
    ctx.account = account.name
    return account


async def _failed(
    pool: AccountPool,
    ctx: RequestContext,
    account: UpstreamAccount,
    family: str,
    error: UpstreamError,
    tried: set[int],
) -> UpstreamError:
    ctx.error_class = str(error.error_class)
    if error.error_class in FINAL_CLASSES:
        raise error
    tried.add(account.id)
    await pool.on_failure(account, family, error)
    return error
