"""Per-request enforcement of a client key: who it is, and whether it may make this request now.

Looking a key up costs a database round trip, so known keys are cached for `cache_ttl_s`; a
change made anywhere (admin API, CLI, another instance) drops the cache at once through the change
feed (`shared/changes.py`), and without Redis a CLI change applies within the TTL. Unknown keys are
not cached: a key created elsewhere must work on its first request here. While the store is
unreachable a key seen before is served from the cache however old; a key never seen gets a 503.

Without Redis, rate windows, concurrency and quota counters live in this process; quota counters
are seeded from the usage table the first time a key is seen in a period, so they survive restarts.
With Redis (`SWITCHYARD_REDIS_URL`) a key that has any of these limits is admitted by one Redis
script (`shared_limits.py`), so several instances enforce them as one; while Redis is unreachable
the process's own counters take over (reseeded from the usage table at each outage). The default
concurrency cap of keys without their own (`default_max_concurrent`) is counted with the key's other
limits: across instances when the key has a shared limit, else in this process.

A request counts toward the request quota from its admission, and is refunded when it ends in a
4xx other than 499: the client is charged neither for its own mistakes nor for refusals, but is
for work it walked away from. The seed counts the usage rows the same way. Seeding awaits the store, so every check and
count of one admission happens after the last await: concurrent first requests cannot all pass.
"""

from __future__ import annotations

import asyncio
import fnmatch
import hmac
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import func, select

from switchyard.errors import AuthenticationFailed, PermissionDenied, RateLimited
from switchyard.keys.limits import Quota, period_bounds
from switchyard.keys.service import KeyLimits, hash_key, limits_of
from switchyard.keys.shared_limits import QuotaTerm, SharedLimits, Verdict
from switchyard.redis_link import Gate, GateClosed, RedisDown, RedisLink, new_lease_id
from switchyard.store.db import Store
from switchyard.store.reachable import store_unreachable
from switchyard.store.tables import ClientKey, UsageEvent

RPM_WINDOW_S = 60.0
T = TypeVar("T")


@dataclass(frozen=True)
class KeyRecord:
    """A verified key's snapshot: what the request path needs, no secret."""

    id: int
    name: str
    key_hash: str
    enabled: bool
    limits: KeyLimits


@dataclass
class _Counter:
    period_start: float = 0.0
    period_end: float = 0.0
    used: int = 0


@dataclass
class _KeyState:
    recent: deque[float] = field(default_factory=deque)
    in_flight: int = 0
    requests: _Counter = field(default_factory=_Counter)
    tokens: _Counter = field(default_factory=_Counter)


def is_refunded(status: int) -> bool:
    """A request that ended with this status does not count toward the request quota."""
    return 400 <= status < 499  # 499: the client left after the work was done or begun


class Lease:
    """Holds one concurrency slot of a key until released (at the end of the response or stream);
    `on_release(status)` gives it back and refunds the request when `is_refunded(status)`.

    A lease may be *pending*: the key's admission (`gate`) has not been checked yet and rides with
    the request's first account take (`admitted_with`), or is sent on its own (`confirm`). Until
    it is judged the request holds nothing; a refused lease holds nothing either."""

    __slots__ = ("_handed", "_judge", "_judged", "_on_release", "_released", "gate", "key")

    def __init__(
        self,
        key: KeyRecord,
        on_release: Callable[[int | None], None],
        *,
        gate: Gate | None = None,
        judge: Callable[[], Awaitable[Callable[[int | None], None]]] | None = None,
    ) -> None:
        self.key = key
        self._on_release = on_release
        self._released = False
        self.gate = gate
        self._judge = judge
        self._judged: asyncio.Future[None] | None = None
        self._handed = False
        """A take carries (or carried) the gate: other takes of the request wait for its judgment."""

    def release(self, status: int | None = None) -> None:
        if not self._released:
            self._released = True
            self._on_release(status)
            if self._judged is not None and self._judged.done():
                self.gate = self._judge = None  # the gate refers back to this lease: no cycle left

    async def confirm(self) -> None:
        """Check the admission now if it is pending (once; concurrent callers share the answer),
        raising the refusal: before work a refused request must not do (media downloads)."""
        judged = self._judged
        if judged is not None:
            await asyncio.shield(judged)  # raises the refusal again, if refused
            return
        if self.gate is None:
            return
        assert self._judge is not None
        judged = self._judged = asyncio.get_running_loop().create_future()
        self.gate.sendable = False  # from now on no take carries it
        try:
            on_release = await self._judge()
        except asyncio.CancelledError:
            judged.cancel()
            raise
        except BaseException as exc:
            judged.set_exception(exc)
            judged.exception()  # retrieved: nobody else may be waiting
            if isinstance(exc, RateLimited):
                self._on_release = _nothing_held  # refused: the script added nothing
            raise
        judged.set_result(None)
        self.gate = self._judge = None  # the gate and the judge refer back to this lease: no cycle left
        if self._released:  # the request ended meanwhile (a parallel take's error): give it back
            on_release(None)
        else:
            self._on_release = on_release

    async def admitted_with(
        self, take: Callable[[Gate | None], Awaitable[T]], undo: Callable[[T], Awaitable[object]]
    ) -> T:
        """`take(gate)` with the pending admission riding on it, judged before the result is
        returned (`undo(result)` when it refuses); a settled lease just runs `take(None)`. The
        first such call of a request carries the gate; parallel ones wait for its judgment."""
        gate = self.gate
        if gate is None or not gate.sendable or self._handed:
            await self.confirm()
            return await take(None)
        self._handed = True
        try:
            taken = await take(gate)
        except GateClosed:
            await self.confirm()  # raises the refusal, or admits after seeding a counter
            return await take(None)
        except Exception:
            await self.confirm()  # a refusal comes before the take's own error
            raise
        try:
            await self.confirm()
        except BaseException:
            await undo(taken)
            raise
        return taken


def _nothing_held(status: int | None) -> None:
    """The release of a refused lease."""


def _memory_release(state: _KeyState, counted_in: float | None) -> Callable[[int | None], None]:
    """`counted_in`: the end of the quota period this request was counted in (None: not counted)."""

    def release(status: int | None) -> None:
        state.in_flight -= 1
        requests = state.requests
        if status is not None and is_refunded(status) and counted_in == requests.period_end:
            requests.used = max(0, requests.used - 1)

    return release


def _fmt_time(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _shared(limits: KeyLimits) -> bool:
    """The key has a limit that instances must share (else no Redis round trip is needed)."""
    return bool(limits.rpm or limits.max_concurrent or limits.quota_requests or limits.quota_tokens)


def model_allowed(patterns: list[str] | None, provider: str, model: str) -> bool:
    """Patterns are shell globs matched against `model` or `provider/model`, case-insensitively."""
    if not patterns:
        return True
    candidates = (model.lower(), f"{provider}/{model}".lower())
    return any(fnmatch.fnmatchcase(c, p.lower()) for p in patterns for c in candidates)


class KeyGuard:
    """Authenticates presented keys and admits requests against their limits."""

    def __init__(
        self,
        store: Store,
        *,
        cache_ttl_s: float = 2.0,
        default_max_concurrent: int = 0,
        link: RedisLink | None = None,
    ) -> None:
        self._store = store
        self._cache_ttl_s = cache_ttl_s
        self._default_max_concurrent = default_max_concurrent
        """The concurrency cap of keys without their own `max_concurrent` (0: none), so that one key
        whose clients hold their streams cannot take every account slot (issue 17 #2)."""
        self._cache: dict[str, tuple[float, KeyRecord | None]] = {}
        self._states: dict[int, _KeyState] = {}
        self._loading: dict[str, asyncio.Future[KeyRecord | None]] = {}
        self._generation = 0
        """Bumped by `forget`: a lookup that began before a change must not cache what it read."""
        self._link = link
        self._shared = SharedLimits(link) if link is not None else None
        self._seeded: dict[tuple[int, str], float] = {}
        """(key, kind) → the end of the period whose Redis counter this process seeded."""
        if link is not None:
            link.on_change(self._redis_changed)

    def _redis_changed(self, up: bool) -> None:
        if not up:
            # The process's counters take over: start them from the usage table, not from
            # whatever they held at the last outage.
            self._states.clear()

    async def authenticate(self, presented: str | None) -> KeyRecord:
        if not presented:
            raise AuthenticationFailed(
                "Missing API key: send it as 'Authorization: Bearer <key>', 'x-goog-api-key: <key>' or ?key=<key>."
            )
        digest = hash_key(presented)
        record = await self._lookup(digest)
        # The lookup is by hash; comparing again in constant time keeps timing independent of the key.
        if record is None or not hmac.compare_digest(record.key_hash, digest):
            raise AuthenticationFailed("Invalid API key: no enabled key matches the one provided.")
        if not record.enabled:
            raise PermissionDenied(f"API key '{record.name}' is disabled.", code="key_disabled")
        expires_at = record.limits.expires_at
        if expires_at is not None and expires_at <= time.time():
            raise PermissionDenied(
                f"API key '{record.name}' expired on {_fmt_time(expires_at)}.", code="key_expired"
            )
        return record

    async def _lookup(self, digest: str) -> KeyRecord | None:
        """The key's record, cached for `cache_ttl_s`; concurrent misses share one query (when
        an entry expires under load, every request in flight would otherwise query at once)."""
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and (now - cached[0] < self._cache_ttl_s or not self._store.health.up):
            return cached[1]  # while the store is unreachable, a key seen before is served from memory
        pending = self._loading.get(digest)
        if pending is None:
            pending = asyncio.ensure_future(self._load(digest, now))
            self._loading[digest] = pending
            pending.add_done_callback(lambda done: self._done_loading(digest, done))
        try:
            return await asyncio.shield(pending)
        except Exception as error:
            if cached is None or not store_unreachable(error):
                raise
            self._store.health.failed(error)
            return cached[1]

    def _done_loading(self, digest: str, done: asyncio.Future[KeyRecord | None]) -> None:
        if self._loading.get(digest) is done:  # `forget` may have let a newer lookup start
            del self._loading[digest]

    async def _load(self, digest: str, now: float) -> KeyRecord | None:
        generation = self._generation
        async with self._store.sessions() as session:
            row = await session.scalar(select(ClientKey).where(ClientKey.key_hash == digest))
        record = (
            None
            if row is None
            else KeyRecord(
                id=row.id, name=row.name, key_hash=row.key_hash, enabled=row.enabled, limits=limits_of(row)
            )
        )
        self._store.health.ok()
        if record is None or generation != self._generation:
            return record  # unknown keys are not cached; nor is a read older than the last change
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (now, record)
        return record

    def forget(self) -> None:
        """Drop cached key records (a key changed here, or on another instance: `shared/changes.py`).
        Lookups under way finish with what they read but cache nothing; new ones query afresh."""
        self._generation += 1
        self._cache.clear()
        self._loading.clear()

    async def admit(self, key: KeyRecord, provider: str, model: str, *, ride: bool = False) -> Lease:
        """Check model, rate, concurrency and quotas; count the request; hold a concurrency slot.

        `ride`: the request goes on to take an account (`pool/failover.py`), so a check on Redis
        may wait for it and ride with the take — one round trip for both. The lease is then
        *pending* (see `Lease`) and raises its refusal from the take; the caller must `confirm` it
        before any work a refused request must not do."""
        limits = key.limits
        if not model_allowed(limits.models, provider, model):
            raise PermissionDenied(
                f"Model '{model}' is not allowed for API key '{key.name}' (allowed: {', '.join(limits.models or [])}).",
                param="model",
                code="model_not_allowed",
            )
        if self._shared is not None and self._link is not None and self._link.up and _shared(limits):
            if ride:
                return await self._pending(key, self._shared)
            try:
                return await self._admit_shared(key, self._shared)
            except RedisDown:
                pass  # served from this process's counters until Redis answers again
        return await self._admit_memory(key)

    async def _admit_memory(self, key: KeyRecord) -> Lease:
        limits = key.limits
        state = self._states.setdefault(key.id, _KeyState())
        now = time.time()
        # Seed the quota counters first: from here on, no await until the request is counted.
        if limits.quota_requests:
            await self._seed(key, state.requests, limits.quota_requests, "requests", now)
        if limits.quota_tokens:
            await self._seed(key, state.tokens, limits.quota_tokens, "tokens", now)
        now = time.time()
        if limits.rpm:
            self._check_rpm(key, state, limits.rpm, now)
        max_concurrent = self._max_concurrent(limits)
        if max_concurrent and state.in_flight >= max_concurrent:
            raise self._concurrency_error(key, max_concurrent)
        if limits.quota_requests and state.requests.used >= limits.quota_requests.limit:
            raise self._quota_error(key, "request", limits.quota_requests, state.requests, now)
        if limits.quota_tokens and state.tokens.used >= limits.quota_tokens.limit:
            raise self._quota_error(key, "token", limits.quota_tokens, state.tokens, now)
        if limits.rpm:
            state.recent.append(now)
        counted_in = None
        if limits.quota_requests:
            state.requests.used += 1
            counted_in = state.requests.period_end
        state.in_flight += 1
        return Lease(key, _memory_release(state, counted_in))

    async def _admit_shared(self, key: KeyRecord, shared: SharedLimits) -> Lease:
        """Admission by the Redis script, on its own round trip."""
        lease_id = new_lease_id()
        terms = await self._terms(key, time.time(), set())
        verdict, terms = await self._verdict(key, shared, lease_id, terms)
        return Lease(key, self._accepted(key, shared, lease_id, verdict, terms))

    async def _pending(self, key: KeyRecord, shared: SharedLimits) -> Lease:
        """A lease whose admission script rides with the request's account take (`Lease`)."""
        lease_id = new_lease_id()
        terms = await self._terms(key, time.time(), set())
        max_concurrent = self._max_concurrent(key.limits)
        slots = shared.slots_key(key.id) if max_concurrent else None

        def unsettled(status: int | None) -> None:
            if slots is not None:  # the script may have run (its request was cancelled meanwhile)
                shared.link.drop(slots, lease_id)

        async def judge() -> Callable[[int | None], None]:
            answer = gate.answer
            try:
                if answer is None:  # no take carried it
                    verdict, settled = await self._verdict(key, shared, lease_id, terms)
                else:
                    verdict, settled = shared.verdict(await answer), terms
                    if verdict.outcome == "seed":
                        verdict, settled = await self._verdict(key, shared, lease_id, terms, {verdict.kind})
            except RedisDown:
                return (await self._admit_memory(key))._on_release
            return self._accepted(key, shared, lease_id, verdict, settled)

        def args() -> list[Any]:
            return shared.admit_args(key.id, lease_id, key.limits.rpm or 0, max_concurrent, terms)

        lease = Lease(key, unsettled, judge=judge)
        gate = Gate(shared.admit_script, args, lease.confirm)
        lease.gate = gate
        return lease

    async def _terms(self, key: KeyRecord, now: float, need_seed: set[str]) -> list[QuotaTerm]:
        """The key's quotas for the script; a quota is seeded from the usage table (`_term`) when
        this process has not seeded its period's counter yet, or Redis asked again (`need_seed`)."""
        limits = key.limits
        terms: list[QuotaTerm] = []
        for kind, quota in (("requests", limits.quota_requests), ("tokens", limits.quota_tokens)):
            if not quota:
                continue
            end = period_bounds(quota.period, now)[1]
            if kind in need_seed or self._seeded.get((key.id, kind)) != end:
                terms.append(await self._term(key, kind, quota, now))
            else:
                terms.append(QuotaTerm(kind, quota.limit, end, None))
        return terms

    async def _verdict(
        self,
        key: KeyRecord,
        shared: SharedLimits,
        lease_id: str,
        terms: list[QuotaTerm],
        need_seed: set[str] | frozenset[str] = frozenset(),
    ) -> tuple[Verdict, list[QuotaTerm]]:
        """The script's verdict; a counter Redis lacks is seeded and the script re-run."""
        limits = key.limits
        max_concurrent = self._max_concurrent(limits)
        need = set(need_seed)
        now = time.time()
        for _ in range(3):
            if need:
                terms = await self._terms(key, now, need)
            args = shared.admit_args(key.id, lease_id, limits.rpm or 0, max_concurrent, terms)
            verdict = await shared.admit(args)
            if verdict.outcome != "seed":
                return verdict, terms
            need.add(verdict.kind)
        raise RedisDown("a quota counter could not be seeded")

    def _accepted(
        self, key: KeyRecord, shared: SharedLimits, lease_id: str, verdict: Verdict, terms: list[QuotaTerm]
    ) -> Callable[[int | None], None]:
        """Raise the verdict's refusal; else note the seeds, hold the slot and return the release."""
        max_concurrent = self._max_concurrent(key.limits)
        if verdict.outcome != "ok":
            self._refuse(key, verdict, {t.kind: t for t in terms}, time.time(), max_concurrent)
        counted = None
        for term in terms:
            if term.seed is not None:
                self._seeded[(key.id, term.kind)] = term.period_end
            if term.kind == "requests":
                counted = shared.quota_key(key.id, term.kind, term.period_end)
        slots = shared.slots_key(key.id) if max_concurrent else None
        if slots is not None:
            shared.link.hold(slots, lease_id)

        def release(status: int | None) -> None:
            if slots is not None:
                shared.link.drop(slots, lease_id)
            if counted is not None and status is not None and is_refunded(status):
                shared.add(counted, -1)

        return release

    async def _term(self, key: KeyRecord, kind: str, quota: Quota, now: float) -> QuotaTerm:
        """The quota for the script with its seed: what the usage table holds for the period."""
        start, end = period_bounds(quota.period, now)
        return QuotaTerm(kind, quota.limit, end, await self._used_since(key.id, start, kind))

    def _refuse(
        self, key: KeyRecord, verdict: Verdict, terms: dict[str, QuotaTerm], now: float, max_concurrent: int
    ) -> None:
        """Raise the same errors as the in-process checks for the script's refusal."""
        limits = key.limits
        if verdict.outcome == "rpm":
            raise RateLimited(
                f"API key '{key.name}' reached its rate limit of {limits.rpm} requests per minute.",
                retry_after=verdict.oldest_ms / 1000 + RPM_WINDOW_S - now,
                code="rate_limit_exceeded",
            )
        if verdict.outcome == "concurrency":
            raise self._concurrency_error(key, max_concurrent)
        if verdict.outcome == "quota":
            term = terms[verdict.kind]
            quota = limits.quota_requests if verdict.kind == "requests" else limits.quota_tokens
            assert quota is not None
            counter = _Counter(period_bounds(quota.period, now)[0], term.period_end, verdict.used)
            raise self._quota_error(key, verdict.kind.removesuffix("s"), quota, counter, now)

    def _max_concurrent(self, limits: KeyLimits) -> int:
        """The key's own cap, else the gateway's default for keys without one (0: none)."""
        return limits.max_concurrent or self._default_max_concurrent

    @staticmethod
    def _concurrency_error(key: KeyRecord, cap: int) -> RateLimited:
        return RateLimited(
            f"API key '{key.name}' reached its concurrency limit of {cap} "
            "requests in flight; retry when one finishes.",
            retry_after=1,
            code="concurrency_limit_exceeded",
        )

    def add_tokens(self, key: KeyRecord, tokens: int) -> None:
        """Count a finished request's tokens toward the key's token quota."""
        quota = key.limits.quota_tokens
        if self._shared is not None and self._link is not None and self._link.up and quota and tokens:
            self._shared.add(self._shared.quota_key(key.id, "tokens", period_bounds(quota.period)[1]), tokens)
        state = self._states.get(key.id)
        if state is not None and key.limits.quota_tokens and tokens:
            state.tokens.used += tokens

    @staticmethod
    def _check_rpm(key: KeyRecord, state: _KeyState, rpm: int, now: float) -> None:
        recent = state.recent
        while recent and recent[0] <= now - RPM_WINDOW_S:
            recent.popleft()
        if len(recent) >= rpm:
            raise RateLimited(
                f"API key '{key.name}' reached its rate limit of {rpm} requests per minute.",
                retry_after=recent[0] + RPM_WINDOW_S - now,
                code="rate_limit_exceeded",
            )

    async def _seed(self, key: KeyRecord, counter: _Counter, quota: Quota, kind: str, now: float) -> None:
        """Start the counter of the period holding `now` from the usage table, once per period: of
        concurrent first requests only the first result is kept (the others' would overwrite the
        counts made meanwhile)."""
        if now < counter.period_end:
            return
        start, end = period_bounds(quota.period, now)
        used = await self._used_since(key.id, start, kind)
        if counter.period_end != end:
            counter.period_start, counter.period_end, counter.used = start, end, used

    async def _used_since(self, key_id: int, start: float, kind: str) -> int:
        column: Any
        if kind == "requests":
            column = func.count(UsageEvent.id)
            counted = ~UsageEvent.status.between(400, 498)  # as `is_refunded`
        else:
            column = func.coalesce(func.sum(UsageEvent.prompt_tokens + UsageEvent.completion_tokens), 0)
            counted = UsageEvent.id.is_not(None)
        async with self._store.sessions() as session:
            value = await session.scalar(
                select(column).where(UsageEvent.key_id == key_id, UsageEvent.created_at >= start, counted)
            )
        return int(value or 0)

    @staticmethod
    def _quota_error(key: KeyRecord, kind: str, quota: Quota, counter: _Counter, now: float) -> RateLimited:
        return RateLimited(
            f"API key '{key.name}' used its {kind} quota of {quota.limit} per {quota.period} "
            f"({counter.used} used); it resets at {_fmt_time(counter.period_end)}.",
            retry_after=counter.period_end - now,
            code="insufficient_quota",
        )
