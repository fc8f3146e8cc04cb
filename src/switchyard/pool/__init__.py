"""The account pool: which account serves a request, and what an upstream failure does to it.

decisions.py   THE decision table: upstream error class → action on the account and request
selection.py   strategies (round-robin, least-used, quota-aware) and session stickiness
state.py       the fast-state interface (`PoolState`) and its in-process implementation
redis_state.py the same on Redis, for several gateway instances (`SWITCHYARD_REDIS_URL`), with
               the process's memory as the fallback while Redis is unreachable
pool.py        accounts per provider, `choose`, `on_failure`, `rest`, `disable`
resting.py     the 429 message when no account can serve
failover.py    runs a call on one account after another, before the first byte only
stream.py      the rest of a stream, holding the account's slot until it ends
persist.py     what is kept in the store: cooldowns, quotas, last error, counters
quota.py       the background quota refresher
"""

from __future__ import annotations

from switchyard.config import Settings
from switchyard.pool.pool import AccountPool
from switchyard.pool.state import MemoryPoolState, PoolState
from switchyard.redis_link import RedisLink
from switchyard.store.db import Store


async def open_pool(store: Store, settings: Settings, link: RedisLink | None = None) -> AccountPool:
    """The pool as configured: Redis-backed state when a `link` is given (`SWITCHYARD_REDIS_URL`),
    in-process state otherwise."""
    state: PoolState
    if link is not None:
        from switchyard.pool.redis_state import SharedPoolState

        state = SharedPoolState(link, snapshot_interval_s=settings.redis_snapshot_interval_s)
    else:
        state = MemoryPoolState()
    return AccountPool(
        store,
        reload_interval_s=settings.accounts_reload_interval_s,
        state=state,
        strategy=settings.pool_strategy,
        sticky_sessions=settings.pool_sticky_sessions,
        max_concurrency=settings.pool_account_max_concurrency,
        flush_interval_s=settings.pool_flush_interval_s,
        sticky_ttl_s=settings.pool_sticky_ttl_s,
        busy_wait_s=settings.pool_busy_wait_s,
    )
