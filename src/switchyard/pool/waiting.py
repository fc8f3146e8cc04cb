"""Requests waiting for an account slot, served in turn: key after key, and first come first served
within a key (issue 17 #2).

When every ready account of a provider is at its concurrency cap, a request waits (at most the
pool's `busy_wait_s`) instead of being refused at once. Woken all together, the waiters would race
for a freed slot and the busiest key — the one with the most requests queued — would win most of
them. Here a freed slot wakes one waiter, the one whose turn it is; while anyone waits, a newcomer
queues behind them rather than taking the slot first. The turn goes round the keys: the first
waiter of each key in the order the keys began waiting, then the second of each, and so on; a key
that was just served goes to the back.

A waiter that is woken but cannot use the slot (the freed account is resting for its model, or one
it already tried) passes its turn to the next, so one waiter never blocks the others. Slots freed
by another instance (Redis) wake nobody here: the first waiter polls for them. A failed poll is not
passed on (a long queue costs one attempt per poll, not one per waiter); a successful one wakes the
next waiter to look too, since others may have been freed at once.

This sits above `PoolState`: it orders who may try to take a slot, the state still decides whether
one is free.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Hashable


class Waiter:
    """One request waiting for a slot; `key` is its client key's id (None: no key)."""

    __slots__ = ("_woken", "key", "passes_on")

    def __init__(self, key: Hashable) -> None:
        self.key = key
        self._woken = asyncio.Event()
        self.passes_on = True
        """Woken for a slot freed here: if it cannot use it, the next waiter gets the turn. False
        when woken only to look (a slot freed elsewhere may be free for it too)."""

    @property
    def woken(self) -> bool:
        """Woken and not yet back to waiting: its turn is pending."""
        return self._woken.is_set()

    def wake(self, *, passes_on: bool = True) -> None:
        self.passes_on = passes_on
        self._woken.set()

    async def wait(self, timeout_s: float) -> bool:
        """Wait to be woken, at most `timeout_s`; True when woken (the turn is this waiter's)."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._woken.wait()
        except TimeoutError:
            return False
        self._woken.clear()
        return True


class SlotQueue:
    """The waiters for one provider's account slots, in turn order."""

    def __init__(self) -> None:
        self._by_key: dict[Hashable, deque[Waiter]] = {}
        """Insertion order is the keys' turn order (a served key is re-inserted at the back)."""

    def __bool__(self) -> bool:
        return bool(self._by_key)

    def join(self, key: Hashable) -> Waiter:
        waiter = Waiter(key)
        self._by_key.setdefault(key, deque()).append(waiter)
        return waiter

    def leave(self, waiter: Waiter, *, served: bool) -> None:
        """Take `waiter` out; a served one's key goes to the back of the turn order. A turn it was
        given meanwhile (a second slot freed while it took the first) goes to the next waiter."""
        queue = self._by_key.get(waiter.key)
        if queue is None or waiter not in queue:
            return
        queue.remove(waiter)
        if not queue:
            del self._by_key[waiter.key]
        elif served:
            del self._by_key[waiter.key]
            self._by_key[waiter.key] = queue  # to the back of the turn order
        if waiter.woken:
            self.wake_first()

    def order(self) -> list[Waiter]:
        """Every waiter in turn order: the first of each key, then the second of each, …"""
        queues = list(self._by_key.values())
        ordered: list[Waiter] = []
        depth = 0
        while True:
            row = [queue[depth] for queue in queues if len(queue) > depth]
            if not row:
                return ordered
            ordered.extend(row)
            depth += 1

    def first(self) -> Waiter | None:
        for queue in self._by_key.values():
            return queue[0]
        return None

    def wake_first(self, *, passes_on: bool = True) -> None:
        """Give a turn to the first waiter not already holding one (a slot was freed)."""
        self._wake_from(self.order(), passes_on)

    def wake_after(self, waiter: Waiter) -> None:
        """Pass the turn on to the next waiter after `waiter` (nobody when it is the last)."""
        ordered = self.order()
        if waiter in ordered:
            self._wake_from(ordered[ordered.index(waiter) + 1 :], True)

    @staticmethod
    def _wake_from(candidates: list[Waiter], passes_on: bool) -> None:
        for candidate in candidates:
            if not candidate.woken:
                candidate.wake(passes_on=passes_on)
                return
