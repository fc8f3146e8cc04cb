"""The pool's fast-changing state behind one small interface: cooldowns, in-flight counts, rate
windows and sticky sessions.

The decision logic (`decisions.py`, `selection.py`, `pool.py`) only talks to `PoolState`, so one
gateway keeps it in memory (`MemoryPoolState`, the default) and several gateways behind a load
balancer share it through Redis (`redis_state.SharedPoolState`, chosen by `SWITCHYARD_REDIS_URL`,
which falls back to a `MemoryPoolState` while Redis is unreachable) without a line of the logic
changing. Slow state (quota numbers, counters, disabled accounts) lives in the store, which every
instance already shares.

A request holds an account through a `Slot` taken by `take`, which does in one step (one Redis
round trip) what choosing needs to be atomic: the conversation's account first, the cap, the use
count and the sticky session.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from switchyard.redis_link import Gate, new_lease_id

RATE_WINDOW_S = 60
"""Width of one rate-window bucket; "recent uses" are the current and the previous bucket."""


@dataclass(frozen=True)
class Cooldown:
    """An (account, model family) resting until `until` (epoch seconds), and why."""

    until: float
    reason: str


@dataclass(frozen=True)
class Slot:
    """One in-flight request's hold on an account; give it back with `PoolState.release`."""

    account_id: int
    lease_id: str = field(default_factory=new_lease_id)
    shared: bool = False
    """Taken on Redis (else in this process's memory, also while Redis is unreachable)."""


class PoolState(Protocol):
    """What the pool needs to share between requests (and, with Redis, between instances)."""

    async def cooldowns(self, family: str, account_ids: Iterable[int]) -> dict[int, Cooldown]:
        """The cooldowns still running for these accounts and this family (expired ones omitted)."""
        ...

    async def set_cooldown(self, account_id: int, family: str, cooldown: Cooldown) -> None:
        """Rest the (account, family); a later `until` wins over an earlier one."""
        ...

    async def take(
        self,
        ranking: Sequence[int],
        cap: int,
        family: str,
        *,
        session: str | None = None,
        sticky_ttl_s: float = 0.0,
        gate: Gate | None = None,
    ) -> Slot | None:
        """A slot on the first account of `ranking` (the session's own account first, if it is in
        the ranking) that has fewer than `cap` in flight (0 = no cap); its use is counted in the
        rate window and the session (if any) is (re)set to it. None when every one is full. `gate`:
        a check the shared state sends with its take (`redis_link.Gate`); memory ignores it."""
        ...

    async def release(self, slot: Slot, *, urgent: bool = False) -> None:
        """Give back a slot taken by `take`; `urgent`: a request waits for it (else the shared
        state may send the release with the request's other writes, at its end)."""
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

    async def take(
        self,
        ranking: Sequence[int],
        cap: int,
        family: str,
        *,
        session: str | None = None,
        sticky_ttl_s: float = 0.0,
        gate: Gate | None = None,
    ) -> Slot | None:
        order = list(ranking)
        sticky = await self.sticky(session) if session else None
        if sticky is not None and sticky in order:
            order.remove(sticky)
            order.insert(0, sticky)
        for account_id in order:
            running = self._in_flight.get(account_id, 0)
            if cap > 0 and running >= cap:
                continue
            self._in_flight[account_id] = running + 1
            await self.note_use(account_id, family)
            if session:
                await self.set_sticky(session, account_id, sticky_ttl_s)
            return Slot(account_id)
        return None

    async def release(self, slot: Slot, *, urgent: bool = False) -> None:
        running = self._in_flight.get(slot.account_id, 0) - 1
        if running > 0:
            self._in_flight[slot.account_id] = running
        else:
            self._in_flight.pop(slot.account_id, None)

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
