"""A key's limits on Redis, so several gateway instances enforce them as one would (issue 16).

One script per admission (`_ADMIT`; it rides with the request's account take when it can, see
`guard.KeyGuard.admit`) checks and counts atomically: the requests of the last minute
(a sorted set of request ids by time), the requests in flight (a sorted set of leases by expiry,
renewed by the holder, see `redis_link`), and the request and token quotas (one counter per key,
kind and period). A quota counter is seeded once from the usage table by whichever instance needs
it first (`SET NX` with the count, then `INCR`), so every instance counts from the same number;
when the counter is missing and no seed was sent (Redis restarted, its data lost), the script asks
for one. Releases, refunds (`guard.is_refunded`) and token counts are deferred writes.

Keys (under `SWITCHYARD_REDIS_PREFIX`):
    {prefix}:krpm:{key_id}                  sorted set request id → time (ms), the last minute
    {prefix}:kslots:{key_id}                sorted set lease id → expiry (ms)
    {prefix}:kq:{key_id}:{kind}:{period_end} counter of requests or tokens in the period
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from switchyard.redis_link import RedisLink, lease_expiry, now_ms

_ADMIT = """
local p, kid, now, lease = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local expiry, keep = ARGV[5], tonumber(ARGV[6])
local rpm, maxc = tonumber(ARGV[7]), tonumber(ARGV[8])
local function counter(kind, limit, period_end, ttl, seed)
  if tonumber(limit) <= 0 then return nil end
  local key = p .. ':kq:' .. kid .. ':' .. kind .. ':' .. period_end
  local used = redis.call('GET', key)
  if not used then
    if seed == '' then return {'seed', kind} end
    redis.call('SET', key, seed, 'EX', ttl, 'NX')
    used = redis.call('GET', key)
  end
  if tonumber(used) >= tonumber(limit) then return {'quota', kind, used} end
  return key
end
local rpm_key = p .. ':krpm:' .. kid
if rpm > 0 then
  redis.call('ZREMRANGEBYSCORE', rpm_key, '-inf', now - 60000)
  if redis.call('ZCARD', rpm_key) >= rpm then
    local oldest = redis.call('ZRANGE', rpm_key, 0, 0, 'WITHSCORES')
    return {'rpm', oldest[2]}
  end
end
local slots = p .. ':kslots:' .. kid
if maxc > 0 then
  redis.call('ZREMRANGEBYSCORE', slots, '-inf', now)
  if redis.call('ZCARD', slots) >= maxc then return {'concurrency'} end
end
local requests = counter('requests', ARGV[9], ARGV[10], ARGV[11], ARGV[12])
if type(requests) == 'table' then return requests end
local tokens = counter('tokens', ARGV[13], ARGV[14], ARGV[15], ARGV[16])
if type(tokens) == 'table' then return tokens end
if rpm > 0 then
  redis.call('ZADD', rpm_key, now, lease)
  redis.call('PEXPIRE', rpm_key, 61000)
end
if maxc > 0 then
  redis.call('ZADD', slots, expiry, lease)
  redis.call('PEXPIRE', slots, keep)
end
if requests then redis.call('INCR', requests) end
return {'ok'}
"""

ADD_IF_SEEDED = "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCRBY', KEYS[1], ARGV[1]) end"
"""A refund or a token count applies only to a seeded counter (else the seed will include it)."""


@dataclass(frozen=True)
class QuotaTerm:
    """One quota as the script checks it: the period (its end names the counter) and the seed."""

    kind: str
    limit: int
    period_end: float
    seed: int | None


@dataclass(frozen=True)
class Verdict:
    """The script's answer: `ok`, or what refused (`rpm`, `concurrency`, `quota`), or `seed`."""

    outcome: str
    kind: str = ""
    used: int = 0
    oldest_ms: float = 0.0


class SharedLimits:
    """Runs the admission script; knows the key names."""

    def __init__(self, link: RedisLink) -> None:
        self.link = link
        self.admit_script = link.script(_ADMIT)

    def quota_key(self, key_id: int, kind: str, period_end: float) -> str:
        return self.link.key("kq", key_id, kind, int(period_end))

    def slots_key(self, key_id: int) -> str:
        return self.link.key("kslots", key_id)

    def admit_args(
        self, key_id: int, lease_id: str, rpm: int, max_concurrent: int, quotas: list[QuotaTerm]
    ) -> list[Any]:
        """The script's arguments as of now (its clock and the lease's expiry: build them when
        sending, also when the script rides with an account's take)."""
        now = now_ms()
        args: list[Any] = [
            self.link.prefix,
            key_id,
            now,
            lease_id,
            lease_expiry(self.link.lease_s),
            int(self.link.lease_s * 1000) + 1000,
            rpm,
            max_concurrent,
        ]
        by_kind = {term.kind: term for term in quotas}
        for kind in ("requests", "tokens"):
            term = by_kind.get(kind)
            if term is None:
                args += [0, 0, 0, ""]
            else:
                ttl = max(60, int(term.period_end - now / 1000) + 3600)
                args += [term.limit, int(term.period_end), ttl, "" if term.seed is None else term.seed]
        return args

    async def admit(self, args: list[Any]) -> Verdict:
        """One round trip of the script on its own. Raises `RedisDown` when Redis does not answer."""
        return self.verdict(await self.link.eval(self.admit_script, args))

    @staticmethod
    def verdict(reply: Any) -> Verdict:
        """The script's answer, read."""
        outcome = str(reply[0])
        if outcome == "rpm":
            return Verdict("rpm", oldest_ms=float(reply[1]))
        if outcome in {"seed", "quota"}:
            return Verdict(outcome, kind=str(reply[1]), used=int(reply[2]) if len(reply) > 2 else 0)
        return Verdict(outcome)

    def add(self, key: str, amount: int) -> None:
        """Add `amount` (negative: a refund) to a seeded counter, deferred."""
        self.link.defer(lambda pipe: pipe.eval(ADD_IF_SEEDED, 1, key, amount))
