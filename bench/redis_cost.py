"""What shared state costs: one gateway with and without Redis, small non-stream requests at
concurrency 64 (issue 16: 2,718 req/s without Redis, 1,018 with; the target is >= 85 %).

`python -m bench.redis_cost [--seconds 5]` starts the usual stack (emulators, a gateway without
Redis), a second gateway on the same store with `SWITCHYARD_REDIS_URL` (the local Redis, a private
prefix), and runs the load generator against each in turn, for a key without limits and for a key
with every limit (rpm, concurrency, request quota; all far from reached), alternating the two
gateways round by round. Prints and records, per run, the throughput, the gateway's CPU per request
(the ceiling of a CPU-bound instance), the Redis server's CPU per request and how many scripts and
writes shared a round trip; the summary is the median over the rounds of each back-to-back pair's
ratio. Writes `bench/results/<date>-redis.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench.loadgen import raise_open_files_limit
from bench.payloads import Credentials, request_spec
from bench.processes import BenchStack, free_port, gateway_env, settings_from_env, start_service, start_stack
from bench.results import machine_info, write_results
from bench.scenarios import run_loadgen

REDIS_URL = os.environ.get("SWITCHYARD_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


async def _limited_key(env: dict[str, str]) -> str:
    from switchyard.keys import service as keys
    from switchyard.keys.limits import Quota
    from switchyard.store.db import open_store

    settings = settings_from_env(env)
    store = await open_store(settings)
    try:
        limits = keys.KeyLimits(rpm=10_000_000, max_concurrent=100_000, quota_requests=Quota(10**12, "day"))
        _, key = await keys.create_key(store, "bench-limited", limits)
    finally:
        await store.close()
    return str(key)


def _redis_counters(port: int) -> tuple[float, float]:
    """The gateway's Redis round trips and the entries they carried, from `/metrics`."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    found = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in {"switchyard_redis_round_trips", "switchyard_redis_batched_entries"}:
            found[name] = float(value)
    return found.get("switchyard_redis_round_trips", 0.0), found.get("switchyard_redis_batched_entries", 0.0)


def _drop_prefix(prefix: str) -> None:
    """Leave the shared Redis as it was: the run's keys go with it."""
    if not prefix:
        return
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        names = list(client.scan_iter(f"{prefix}:*"))
        if names:
            client.delete(*names)
    finally:
        client.close()


def _redis_cpu_s() -> float:
    """CPU seconds the Redis server has spent since it started (INFO cpu)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        info: Any = client.info("cpu")
        return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])
    finally:
        client.close()


def _run(stack: BenchStack, port: int, pid: int, key: str, seconds: float) -> dict[str, Any]:
    creds = Credentials(key, stack.access_token, stack.project)
    spec = {
        "host": "127.0.0.1",
        "port": port,
        **request_spec("gemini", creds, stream=False),
        "mode": "unary",
        "concurrency": 64,
        "warmup_s": 1.0,
        "duration_s": seconds,
        "watch_pids": [pid],
    }
    redis_before = _redis_cpu_s()
    result = run_loadgen(spec)
    redis_cpu = _redis_cpu_s() - redis_before  # over the warm-up too: per request, an upper bound
    return {
        "requests_per_s": result["requests_per_s"],
        "gateway_cpu_us_per_request": result["cpu_s"][str(pid)] / max(1, result["requests"]) * 1e6,
        "redis_cpu_us_per_request": redis_cpu / max(1, result["requests"]) * 1e6,
        "p50_ms": result["latency_s"]["p50"] * 1000,
        "p99_ms": result["latency_s"]["p99"] * 1000,
        "errors": result["errors"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Redis cost of one gateway (issue 16).")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2, help="alternations of the two gateways")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--logs", type=Path, help="keep the processes' logs in this folder")
    args = parser.parse_args(argv)
    raise_open_files_limit()
    when = dt.datetime.now(dt.UTC)
    stack = start_stack(args.logs)
    redis_env: dict[str, str] = {}
    try:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        genv = gateway_env(env, stack.workdir / "data", stack.oauth.url, stack.cloudcode.url)
        limited = asyncio.run(_limited_key(genv))
        port = free_port()
        redis_env = {
            **genv,
            "SWITCHYARD_REDIS_URL": REDIS_URL,
            "SWITCHYARD_REDIS_PREFIX": f"switchyard-bench-{uuid.uuid4().hex[:8]}",
        }
        redis_gateway = start_service(
            "gateway-redis",
            [sys.executable, "-m", "switchyard", "serve", "--port", str(port)],
            port,
            "/readyz",
            redis_env,
            args.logs or stack.workdir,
        )
        stack.extra.append(redis_gateway)
        runs: dict[str, list[dict[str, Any]]] = {}
        for _ in range(args.rounds):
            for name, key in (("plain", stack.client_key), ("limited", limited)):
                for where, target_port, pid in (
                    ("no_redis", stack.gateway.port, stack.gateway.pid),
                    ("redis", port, redis_gateway.pid),
                ):
                    trips, entries = _redis_counters(port) if where == "redis" else (0.0, 0.0)
                    row = _run(stack, target_port, pid, key, args.seconds)
                    shared = ""
                    if where == "redis":
                        trips_after, entries_after = _redis_counters(port)
                        row["entries_per_round_trip"] = (entries_after - entries) / max(
                            1.0, trips_after - trips
                        )
                        shared = f", {row['entries_per_round_trip']:.1f} scripts/writes per round trip"
                    runs.setdefault(f"{name}_{where}", []).append(row)
                    print(
                        f"{name:8} {where:9} {row['requests_per_s']:8.0f} req/s, gateway CPU "
                        f"{row['gateway_cpu_us_per_request']:4.0f} µs/request, Redis CPU "
                        f"{row['redis_cpu_us_per_request']:3.0f} µs/request, errors {row['errors']}{shared}"
                    )
    finally:
        stack.stop()
        _drop_prefix(redis_env.get("SWITCHYARD_REDIS_PREFIX", ""))
    # The machine's own speed drifts between runs (other tenants, a loadgen and emulator on the
    # same two cores), so each round's pair (run back to back) gives one ratio; the summary is
    # the median of those. Throughput is what the issue asks; the gateway's CPU per request is
    # what that throughput is made of on a CPU-bound instance, and drifts less.
    summary: dict[str, Any] = {}
    for name in ("plain", "limited"):
        pairs = list(zip(runs[f"{name}_no_redis"], runs[f"{name}_redis"], strict=True))
        summary[f"{name}_throughput_ratio"] = statistics.median(
            with_redis["requests_per_s"] / without["requests_per_s"] for without, with_redis in pairs
        )
        summary[f"{name}_cpu_ratio"] = statistics.median(
            without["gateway_cpu_us_per_request"] / with_redis["gateway_cpu_us_per_request"]
            for without, with_redis in pairs
        )
    print(
        "with Redis / without (median of the rounds' pairs): throughput "
        f"{summary['plain_throughput_ratio']:.0%} for a key without limits, "
        f"{summary['limited_throughput_ratio']:.0%} with limits; the gateway's capacity by its CPU "
        f"per request {summary['plain_cpu_ratio']:.0%} and {summary['limited_cpu_ratio']:.0%}"
    )
    if not args.no_write:
        payload = {
            "date": when.isoformat(timespec="seconds"),
            "profile": "redis",
            "command": "python -m bench.redis_cost " + " ".join(argv if argv is not None else sys.argv[1:]),
            "machine": machine_info(),
            "settings": {"concurrency": 64, "seconds": args.seconds, "rounds": args.rounds},
            "runs": runs,
            "summary": summary,
        }
        print(f"results written to {write_results(payload, when=when)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
