"""The pool's fast-changing state behind one small interface: cooldowns, in-flight counts, rate
windows and sticky sessions.

The decision logic (`decisions.py`, `selection.py`, `pool.py`) only talks to `PoolState`, so one
gateway keeps it in memory (`MemoryPoolState`, the default) and several gateways behind a load
balancer share it through Redis (`redis_state.RedisPoolState`, chosen by `SWITCHYARD_REDIS_URL`)
without a line of the logic changing. Slow state (quota numbers, counters, disabled accounts)
lives in the store, which every instance already shares.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

RATE_WINDOW_S = 60
"""Width of one rate-window bucket; "recent uses" are the current and the previous bucket."""


@dataclass(frozen=True)
class Cooldown:
    """An (account, model family) resting until `until` (epoch seconds), and why."""

    until: float
    reason: str


class PoolState(Protocol):
    """What the pool needs to share between requests (and, with Redis, between instances)."""

    async def cooldowns(self, family: str, account_ids: Iterable[int]) -> dict[int, Cooldown]:
        """The cooldowns still running for these accounts and this family (expired ones omitted)."""
        ...

    async def set_cooldown(self, account_id: int, family: str, cooldown: Cooldown) -> None:
        """Rest the (account, family); a later `until` wins over an earlier one."""
        ...

    async def acquire(self, account_id: int, cap: int) -> bool:
        """Take one in-flight slot unless the account already has `cap` (0 = no cap)."""
        ...

    async def release(self, account_id: int) -> None:
        """Give back a slot taken by `acquire`."""
        ...

    async def in_flight(self, account_ids: Iterable[int]) -> dict[int, int]:
        """Requests running now per account."""
        ...

    async def note_use(self, account_id: int, family: str) -> None:
        """Count one upstream request in the account's rate window."""
        ...

    async def recent_uses(self, family: str, account_ids: Iterable[int]) -> dict[int, int]:
        """Upstream requests in the last one to two rate windows, per account."""
        ...

    async def sticky(self, session: str) -> int | None:
        """The account a conversation was last served by, if remembered."""
        ...

    async def set_sticky(self, session: str, account_id: int, ttl_s: float) -> None:
        """Remember the conversation's account for `ttl_s` seconds."""
        ...

    async def aclose(self) -> None:
        """Release connections (the gateway's shutdown)."""
        ...


class MemoryPoolState:
    """The in-process state: plain dicts, safe because everything runs on one event loop and no
    method awaits between reading and writing."""

    def __init__(self) -> None:
        self._cooldowns: dict[tuple[int, str], Cooldown] = {}
        self._in_flight: dict[int, int] = {}
        self._uses: dict[tuple[int, str, int], int] = {}
        self._sticky: dict[str, tuple[int, float]] = {}

    async def cooldowns(self, family: str, account_ids: Iterable[int]) -> dict[int, Cooldown]:
        now = time.time()
        found: dict[int, Cooldown] = {}
        for account_id in account_ids:
            entry = self._cooldowns.get((account_id, family))
            if entry is None:
                continue
            if entry.until <= now:
                del self._cooldowns[(account_id, family)]
                continue
            found[account_id] = entry
        return found

    async def set_cooldown(self, account_id: int, family: str, cooldown: Cooldown) -> None:
        known = self._cooldowns.get((account_id, family))
        if known is None or known.until <= cooldown.until or known.until <= time.time():
            self._cooldowns[(account_id, family)] = cooldown

    async def acquire(self, account_id: int, cap: int) -> bool:
        running = self._in_flight.get(account_id, 0)
        if cap > 0 and running >= cap:
            return False
        self._in_flight[account_id] = running + 1
        return True

    async def release(self, account_id: int) -> None:
        running = self._in_flight.get(account_id, 0) - 1
        if running > 0:
            self._in_flight[account_id] = running
        else:
            self._in_flight.pop(account_id, None)

    async def in_flight(self, account_ids: Iterable[int]) -> dict[int, int]:
        return {account_id: self._in_flight.get(account_id, 0) for account_id in account_ids}

    async def note_use(self, account_id: int, family: str) -> None:
        bucket = int(time.time()) // RATE_WINDOW_S
        key = (account_id, family, bucket)
        self._uses[key] = self._uses.get(key, 0) + 1
        if len(self._uses) > 4096:  # bounded memory: drop buckets older than the previous one
            self._uses = {k: v for k, v in self._uses.items() if k[2] >= bucket - 1}

    async def recent_uses(self, family: str, account_ids: Iterable[int]) -> dict[int, int]:
        bucket = int(time.time()) // RATE_WINDOW_S
        return {
            account_id: self._uses.get((account_id, family, bucket), 0)
            + self._uses.get((account_id, family, bucket - 1), 0)
            for account_id in account_ids
        }

    async def sticky(self, session: str) -> int | None:
        entry = self._sticky.get(session)
        if entry is None:
            return None
        if entry[1] <= time.time():
            del self._sticky[session]
            return None
        return entry[0]

    async def set_sticky(self, session: str, account_id: int, ttl_s: float) -> None:
        now = time.time()
        if len(self._sticky) > 10_000:  # bounded memory: forget expired conversations first
            self._sticky = {k: v for k, v in self._sticky.items() if v[1] > now}
            if len(self._sticky) > 10_000:
                self._sticky = dict(sorted(self._sticky.items(), key=lambda kv: kv[1][1])[5_000:])
        self._sticky[session] = (account_id, now + ttl_s)

    async def aclose(self) -> None:
        return None
