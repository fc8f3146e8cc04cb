"""The gateway process's one link to Redis: is Redis there, the writes that can wait, the leases.

Several instances share key limits and account slots through Redis (`SWITCHYARD_REDIS_URL`).
Redis is fast state, not the truth: when it stops answering (down, restarting, frozen), every
command fails within `timeout_s`, the link is marked *down*, and the key guard and the pool serve
from this process's memory until a background probe sees Redis answer again (every
`PROBE_INTERVAL_S`); then they go back to Redis. Nothing waits on a down Redis.

Round trips cost more than commands (issue 16: 8 a request took a gateway from 2,718 to 1,018
req/s), so what need not be answered on the request path is *deferred*: releases of slots,
refunds, token counts and use counts are queued and sent in one pipeline. Within a request they
gather in the request's batch (`open_batch` / `close_batch`, used by the gateway middleware) and
go out together when the request ends. What must be answered (an account's take, a key's
admission, a usage event that must be durable) goes through the same sender (`eval`,
`send_with_batch`): one pipeline is in flight at a time and everything that arrives meanwhile
goes out together in the next, so under load many requests share a round trip, and an idle
gateway sends at once. Redis-py's cost per round trip (packing, a future, a wake-up, the
timeout) is paid per pipeline, not per request.

In-flight slots are *leases*: a member of a sorted set scored by its expiry, counted only while
unexpired. A process renews the leases it holds every third of `lease_s`, so a slot whose holder
crashed or lost Redis frees itself within `lease_s` — a restarted instance is never locked out by
its dead predecessor (issue 16).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.connection import Connection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError, NoScriptError, RedisError, ResponseError

from switchyard.config import Settings
from switchyard.metrics import Metrics
from switchyard.redis_wire import Wire, pack

log = logging.getLogger("switchyard.redis")
T = TypeVar("T")
PROBE_INTERVAL_S = 1.0
Deferred = Callable[[Pipeline], object]
"""Adds commands to a pipeline (their answers are not read)."""


@dataclass(frozen=True)
class LinkScript:
    """A Lua script sent by its SHA (`EVALSHA`); loaded again if Redis forgot it (restart)."""

    text: str
    sha: str


@dataclass(eq=False)
class Gate:
    """A check that must pass before a request's next script runs — a key's admission before the
    account's take — sent with that script as one (`_COMBINED`): one round trip instead of two.

    The gate's script answers a table whose first element is 'ok' when it passes; only then does
    the gated script run. `args` is called when the script is put on a pipeline (its times and
    lease expiry are those of the sending). The link sends a gate at most once (`sendable`) and
    puts the gate's answer in `answer`; whoever owns the gate judges that answer, or sends its
    own check when no script carried it (`alone`, which a waiting caller calls before it waits)."""

    script: LinkScript
    args: Callable[[], list[Any]]
    alone: Callable[[], Awaitable[None]]
    sendable: bool = True
    answer: asyncio.Future[Any] | None = None


class GateClosed(Exception):
    """The gate riding with a script did not pass, so the script did not run (see `Gate.answer`)."""


@dataclass
class _Entry:
    """Something for the next pipeline: `add` puts its commands on it; `reply` (if any) gets
    the answers of those commands (one answer when it added one command)."""

    add: Deferred
    reply: asyncio.Future[Any] | None = None
    script: LinkScript | None = None
    leading: list[int] | None = None
    """How many of its first commands are deferred writes riding along (`send_with_batch`, which
    fills it in when the pipeline is built): their failure is logged, not the entry's."""


class HiredisPackedConnection(Connection):
    """redis-py's asyncio connection with hiredis's C command packer (its synchronous client
    uses it already): a pipeline of a hundred scripts is packed in a fifth of the time."""

    def pack_command(self, *args: Any) -> list[bytes]:
        return [pack(args)]


def _fast_packing(url: str) -> dict[str, Any]:
    """The connection class for plain TCP URLs (unix sockets and TLS keep redis-py's own)."""
    return {"connection_class": HiredisPackedConnection} if url.startswith("redis://") else {}


class RedisDown(Exception):
    """Redis did not answer (or is known not to): use the process's own state instead."""


@dataclass
class _Batch:
    writes: list[tuple[RedisLink, Deferred]] = field(default_factory=list)
    closed: bool = False
    token: contextvars.Token[_Batch | None] | None = None


_batch: contextvars.ContextVar[_Batch | None] = contextvars.ContextVar("switchyard_redis_batch", default=None)


def open_batch() -> _Batch:
    """Start gathering the current request's deferred writes (the middleware, per request)."""
    batch = _Batch()
    batch.token = _batch.set(batch)
    return batch


def close_batch(batch: _Batch) -> None:
    """Hand the request's deferred writes to their links, to go out in one pipeline."""
    batch.closed = True
    if batch.token is not None:
        with contextlib.suppress(ValueError):  # set in another context: nothing to undo here
            _batch.reset(batch.token)
    for link, write in batch.writes:
        link.defer(write, batched=False)
    batch.writes.clear()


class RedisLink:
    """One Redis client, its health, its write-behind queue and its lease renewer."""

    def __init__(self, url: str, *, prefix: str, timeout_s: float = 1.0, lease_s: float = 30.0) -> None:
        # No socket timeout: every command goes through `call`, whose one timeout bounds the
        # whole round trip (redis-py would otherwise arm one per reply read). One immediate retry
        # on a broken connection: after a Redis restart the pooled connections are all dead, and
        # the first use of each must not count as an outage.
        self.redis: Redis = Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=None,
            socket_connect_timeout=timeout_s,
            health_check_interval=0,
            retry=Retry(NoBackoff(), 1, supported_errors=(ConnectionError,)),
            **_fast_packing(url),
        )
        self._wire = Wire(url, connect_timeout_s=timeout_s) if Wire.usable(url) else None
        """The sender's own connection (`redis_wire`); None: redis-py's pipelines (unix, TLS)."""
        self.prefix = prefix.rstrip(":")
        self.timeout_s = timeout_s
        self.lease_s = lease_s
        self.up = True
        self._listeners: list[Callable[[bool], None]] = []
        self._queue: list[_Entry] = []
        self._combinations: dict[tuple[str, str], LinkScript] = {}
        self._names: dict[tuple[object, ...], str] = {}
        self._wake = asyncio.Event()
        self._leases: dict[str, str] = {}
        """lease id → the sorted set holding it, for the leases this process holds."""
        self._tasks: list[asyncio.Task[None]] = []
        self.round_trips = 0
        """Commands and pipelines sent (a pipeline is one); for tests and the benchmark."""
        self.entries_sent = 0
        """Scripts, durable writes and deferred writes the sender sent (over `round_trips`: how
        many share a round trip)."""

    def key(self, *parts: object) -> str:
        """The Redis key `{prefix}:{part}:…`; remembered (the same few names serve every request)."""
        name = self._names.get(parts)
        if name is None:
            if len(self._names) >= 10_000:
                self._names.clear()
            name = self._names[parts] = ":".join([self.prefix, *(str(part) for part in parts)])
        return name

    @staticmethod
    def script(text: str) -> LinkScript:
        return LinkScript(text, hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest())

    # --- health ----------------------------------------------------------------------------

    def on_change(self, listener: Callable[[bool], None]) -> None:
        """`listener(up)` on every change of reachability (metrics, fallback state)."""
        self._listeners.append(listener)

    def _mark(self, up: bool, why: BaseException | None = None) -> None:
        if up == self.up:
            return
        self.up = up
        if up:
            log.warning("Redis answers again: shared limits and slots are back on Redis")
        else:
            log.error(
                "Redis is unreachable (%s): limits and slots fall back to this process until it answers",
                "no answer in time" if isinstance(why, TimeoutError) else repr(why),
            )
        for listener in self._listeners:
            try:
                listener(up)
            except Exception:
                log.exception("a Redis reachability listener failed")

    async def call(self, command: Awaitable[T]) -> T:
        """One round trip; RedisDown (at once when Redis is known down) instead of any failure."""
        if not self.up:
            close = getattr(command, "close", None)
            if close is not None:
                close()  # an unawaited coroutine would warn
            raise RedisDown
        self.round_trips += 1
        try:
            async with asyncio.timeout(self.timeout_s * 2):
                return await command
        except (RedisError, OSError, TimeoutError) as exc:
            self._mark(False, exc)
            raise RedisDown from exc

    async def check(self) -> bool:
        """Ping now (start-up, readiness); marks the link up or down."""
        try:
            async with asyncio.timeout(self.timeout_s * 2):
                await self.redis.ping()
        except (RedisError, OSError, TimeoutError) as exc:
            self._mark(False, exc)
            return False
        self._mark(True)
        return True

    # --- deferred writes -------------------------------------------------------------------

    def defer(self, write: Deferred, *, batched: bool = True) -> None:
        """Send `write` soon, in a pipeline with others; dropped if Redis is down (what it releases
        expires by itself). Inside a request it waits for the request's end (`close_batch`)."""
        batch = _batch.get() if batched else None
        if batch is not None and not batch.closed:
            batch.writes.append((self, write))
            return
        self._queue.append(_Entry(write))
        self._wake.set()

    async def eval(self, script: LinkScript, args: list[Any], *, gate: Gate | None = None) -> Any:
        """Run `script` (no KEYS; everything in ARGV) in the next pipeline; its answer. RedisDown
        when Redis does not answer (at once when it is known down). A `gate` still sendable rides
        with it (see `Gate`): GateClosed when the gate did not pass."""
        if gate is None or not gate.sendable:
            return await self._send(lambda pipe: pipe.evalsha(script.sha, 0, *args), script)
        gate.sendable = False
        answer = gate.answer = asyncio.get_running_loop().create_future()
        combined = self._combined(gate.script, script)

        def add(pipe: Pipeline) -> None:
            gate_args = gate.args()
            pipe.evalsha(combined.sha, 0, len(gate_args), *gate_args, *args)

        try:
            reply = await self._send(add, combined)
        except asyncio.CancelledError:
            answer.cancel()
            raise
        except BaseException as exc:
            answer.set_exception(exc)
            answer.exception()  # retrieved: its owner may have stopped waiting
            raise
        answer.set_result(reply[0])
        if str(reply[0][0]) != "ok":
            raise GateClosed
        return reply[1] if len(reply) > 1 else None

    def _combined(self, gate: LinkScript, script: LinkScript) -> LinkScript:
        """One script running `gate`, then `script` if the gate answered 'ok'."""
        found = self._combinations.get((gate.sha, script.sha))
        if found is None:
            text = _COMBINED.format(gate=gate.text, script=script.text)
            found = self._combinations[(gate.sha, script.sha)] = self.script(text)
        return found

    async def send_with_batch(self, write: Deferred) -> None:
        """Send `write` now together with the current request's deferred writes, in one pipeline
        (one round trip), and return once Redis has them all; RedisDown if it did not answer (the
        deferred writes are then dropped, as the write-behind queue would: leases expire)."""
        batch = _batch.get()
        writes: list[Deferred] = []
        if batch is not None and not batch.closed and batch.writes:
            writes = [w for link, w in batch.writes if link is self]
            batch.writes = [(link, w) for link, w in batch.writes if link is not self]

        leading = [0]

        def add(pipe: Pipeline) -> None:
            start = len(pipe.command_stack)
            for deferred in writes:
                deferred(pipe)
            leading[0] = len(pipe.command_stack) - start
            write(pipe)

        await self._send(add, leading=leading)

    async def _send(
        self, add: Deferred, script: LinkScript | None = None, *, leading: list[int] | None = None
    ) -> Any:
        if not self.up:
            raise RedisDown
        reply: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        entry = _Entry(add, reply, script, leading)
        if self._sending():
            self._queue.append(entry)
            self._wake.set()
        else:  # not started (a command-line tool) or closing: no sender to wait for
            await self._flush([entry])
        return await reply

    def _sending(self) -> bool:
        return bool(self._tasks) and not self._tasks[0].done()

    def hold(self, zset: str, lease_id: str) -> None:
        """Renew this lease until `drop`."""
        self._leases[lease_id] = zset

    def drop(self, zset: str, lease_id: str, *, batched: bool = True) -> None:
        """Give the lease back (a deferred ZREM)."""
        self._leases.pop(lease_id, None)
        self.defer(lambda pipe: pipe.zrem(zset, lease_id), batched=batched)

    async def _flush_loop(self) -> None:
        """The sender: one pipeline at a time, with everything queued since the last."""
        while True:
            await self._wake.wait()
            # One pass of the event loop first: the requests woken together (a burst of
            # arrivals, the replies of the last pipeline) queue theirs and share this one.
            await asyncio.sleep(0)
            self._wake.clear()
            entries, self._queue = self._queue, []
            if not entries:
                continue
            self.entries_sent += len(entries)
            try:
                await self._flush(entries)
            except asyncio.CancelledError:
                _fail(entries, RedisDown("the gateway is stopping"))
                raise
            except Exception as exc:  # a bug here must not leave every later request waiting
                log.exception("sending to Redis failed")
                _fail(entries, RedisDown(str(exc)))

    async def _flush(self, entries: list[_Entry]) -> None:
        if not self.up:
            _fail(entries, RedisDown())
            return
        pipe = self.redis.pipeline(transaction=False)
        stack = pipe.command_stack
        packed: list[bytes] = []
        spans: list[tuple[int, int]] = []
        for entry in entries:
            start = len(stack)
            if entry.reply is not None and entry.reply.done():
                spans.append((start, start))  # its request was cancelled while queued: not sent
                continue
            try:
                entry.add(pipe)
                if self._wire is not None:
                    packed.extend([pack(args) for args, _options in stack[start:]])
            except Exception as exc:  # a bug in building it fails its own request, not the batch
                del stack[start:], packed[start:]
                log.exception("a Redis command could not be built")
                _fail([entry], RedisDown(str(exc)))
            spans.append((start, len(stack)))
        try:
            replies = await self.call(self._execute(pipe, packed))
        except RedisDown as exc:
            dropped = sum(entry.reply is None for entry in entries)
            if dropped:
                log.info("Redis is unreachable: %d deferred writes dropped (leases expire)", dropped)
            _fail(entries, exc)
            return
        forgotten: list[_Entry] = []
        for entry, (start, end) in zip(entries, spans, strict=True):
            if start == end:
                if entry.reply is not None and not entry.reply.done():
                    entry.reply.set_result(None)  # nothing was sent for it
                continue
            if end - start == 1 and not entry.leading:  # most entries: one command, its answer
                answers = replies[start:end]
                error = answers[0] if isinstance(answers[0], Exception) else None
            else:
                ridden = start + (entry.leading[0] if entry.leading else 0)
                riding, answers = replies[start:ridden], replies[ridden:end]
                for failed in (a for a in riding if isinstance(a, Exception)):
                    log.warning("a deferred Redis write failed: %s", failed)
                error = next((a for a in answers if isinstance(a, Exception)), None)
            if error is not None and _forgot_script(error) and entry.script is not None:
                forgotten.append(entry)  # a new Redis (restarted, failed over) forgot the script
                continue
            if entry.reply is None:
                if error is not None:
                    log.warning("a deferred Redis write failed: %s", error)
            elif entry.reply.done():
                pass  # its request was cancelled (the client went away)
            elif error is not None:
                entry.reply.set_exception(RedisDown(str(error)))
            else:
                entry.reply.set_result(answers[0] if len(answers) == 1 else answers)
        if forgotten:
            await self._load_and_resend(forgotten)

    async def _execute(self, pipe: Pipeline, packed: list[bytes]) -> list[Any]:
        """The pipeline's replies (errors in their places): over the sender's own connection its
        commands as `packed` already, else by redis-py."""
        if self._wire is None:
            return await pipe.execute(raise_on_error=False)
        return await self._wire.send_packed(b"".join(packed), len(packed)) if packed else []

    async def _load_and_resend(self, entries: list[_Entry]) -> None:
        """Load the scripts, then queue the entries once more (once: `script` cleared)."""
        try:
            for text in {entry.script.text for entry in entries if entry.script is not None}:
                await self.call(self.redis.script_load(text))
        except RedisDown as exc:
            _fail(entries, exc)
            return
        again = [replace(entry, script=None) for entry in entries]
        if self._sending():
            self._queue.extend(again)
            self._wake.set()
        else:
            await self._flush(again)

    async def _renew_loop(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            if not self._leases or not self.up:
                continue
            expiry = lease_expiry(self.lease_s)
            pipe = self.redis.pipeline(transaction=False)
            for lease_id, zset in list(self._leases.items()):
                pipe.zadd(zset, {lease_id: expiry}, xx=True)
                pipe.pexpire(zset, int(self.lease_s * 1000) + 1000)
            with contextlib.suppress(RedisDown):
                await self.call(pipe.execute())

    async def _probe_loop(self) -> None:
        while True:
            await asyncio.sleep(PROBE_INTERVAL_S)
            if not self.up:
                await self.check()

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._flush_loop(), name="redis-writes"),
                asyncio.create_task(self._renew_loop(), name="redis-leases"),
                asyncio.create_task(self._probe_loop(), name="redis-probe"),
            ]

    async def aclose(self) -> None:
        """Send what is queued (best effort), stop the tasks, close the connections."""
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            # Bounded: a cancellation swallowed under a library's timeout must not hang shutdown.
            await asyncio.wait(self._tasks, timeout=self.timeout_s * 2)
        self._tasks = []
        entries, self._queue = self._queue, []
        if entries:
            await self._flush(entries)
        if self._wire is not None:
            await self._wire.aclose()
        await self.redis.aclose()


def open_redis_link(settings: Settings, metrics: Metrics) -> RedisLink | None:
    """The link as configured (None without `SWITCHYARD_REDIS_URL`), its reachability a gauge."""
    if not settings.redis_url:
        return None
    link = RedisLink(
        settings.redis_url,
        prefix=settings.redis_prefix,
        timeout_s=settings.redis_timeout_s,
        lease_s=settings.slot_lease_s,
    )
    metrics.redis_up.set(1)
    link.on_change(lambda up: metrics.redis_up.set(1 if up else 0))
    metrics.redis_round_trips.set_function(lambda: link.round_trips)
    metrics.redis_entries.set_function(lambda: link.entries_sent)
    return link


_COMBINED = """
local function gate(ARGV)
{gate}
end
local function script(ARGV)
{script}
end
local count = tonumber(ARGV[1])
local gate_args, script_args = {{}}, {{}}
for i = 2, count + 1 do gate_args[#gate_args + 1] = ARGV[i] end
for i = count + 2, #ARGV do script_args[#script_args + 1] = ARGV[i] end
local verdict = gate(gate_args)
if verdict[1] ~= 'ok' then return {{verdict}} end
return {{verdict, script(script_args)}}
"""
"""ARGV: the gate's argument count, its arguments, the script's. Answers {gate's answer} or
{gate's answer, script's answer}. Both scripts read ARGV only (no KEYS), so they compose."""


def _forgot_script(error: Exception) -> bool:
    """Redis answered NOSCRIPT (redis-py's pipelines raise NoScriptError; the wire gives the
    plain ResponseError)."""
    return isinstance(error, NoScriptError) or (
        isinstance(error, ResponseError) and str(error).startswith("NOSCRIPT")
    )


def _fail(entries: list[_Entry], error: Exception) -> None:
    for entry in entries:
        if entry.reply is not None and not entry.reply.done():
            entry.reply.set_exception(error)


def lease_expiry(lease_s: float, now: float | None = None) -> int:
    """A lease's score: its expiry in epoch milliseconds."""
    return int(((time.time() if now is None else now) + lease_s) * 1000)


def new_lease_id() -> str:
    """A lease's member name in its sorted set: 16 random hex digits."""
    return os.urandom(8).hex()


def now_ms() -> int:
    return int(time.time() * 1000)


def as_int(value: Any) -> int:
    return int(value) if value is not None else 0
