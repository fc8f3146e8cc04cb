"""Throughput of 1 and 3 gateway instances sharing one PostgreSQL and one Redis (issue 16).

`python -m bench.cluster [--quick] [--instances 1,3]` starts the OAuth and Cloud Code emulators,
makes a fresh PostgreSQL database (dropped at the end) and a fresh Redis prefix, adds one account
and one key, then for each instance count starts that many `switchyard serve` processes on the
shared store (as an operator runs them), and drives small non-streaming requests at concurrency 64
with the load generator, its 64 keep-alive connections spread evenly over the instances (what a
round-robin load balancer does, without measuring a balancer). Every request takes a slot and is
counted in Redis and writes a usage event to PostgreSQL, as in production.

Written to `bench/results/<date>-cluster.json` (`-cluster-quick` for `--quick`). Read the numbers
with the machine in mind: on a 2-core machine three gateways, the emulator, the load generator,
PostgreSQL and Redis all share the same two cores, so three instances cannot be three times one.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench.loadgen import raise_open_files_limit
from bench.payloads import Credentials, request_spec
from bench.processes import ACCOUNT, Service, _prepare_store, free_port, gateway_env, start_service
from bench.results import RESULTS_DIR, machine_info
from bench.scenarios import run_loadgen

POSTGRES_ADMIN_DSN = os.environ.get(
    "SWITCHYARD_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("SWITCHYARD_BENCH_REDIS", "redis://127.0.0.1:6379/0")
CONCURRENCY = 64


async def _database(action: str, name: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(POSTGRES_ADMIN_DSN, timeout=10)
    try:
        if action == "create":
            await connection.execute(f'CREATE DATABASE "{name}"')
        else:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def _drop_redis_prefix(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


def _measure(
    ports: list[int], pids: list[int], cloudcode_pid: int, key: str, warmup_s: float, duration_s: float
) -> dict[str, Any]:
    spec = {
        "host": "127.0.0.1",
        "port": ports[0],
        "ports": ports,
        **request_spec("gemini", Credentials(key, "", ""), stream=False),
        "mode": "unary",
        "concurrency": CONCURRENCY,
        "warmup_s": warmup_s,
        "duration_s": duration_s,
        "watch_pids": [*pids, cloudcode_pid],
    }
    result = run_loadgen(spec)
    requests = max(1, result["requests"])
    gateway_cpu = sum(result["cpu_s"][str(pid)] for pid in pids)
    return {
        "instances": len(ports),
        "requests": result["requests"],
        "requests_per_s": result["requests_per_s"],
        "p50_ms": result["latency_s"].get("p50", 0.0) * 1000,
        "p99_ms": result["latency_s"].get("p99", 0.0) * 1000,
        "errors": result["errors"],
        "error_samples": result["error_samples"],
        "gateway_cpu_us_per_request": gateway_cpu / requests * 1e6,
        "emulator_cpu_us_per_request": result["cpu_s"][str(cloudcode_pid)] / requests * 1e6,
        "loadgen_cpu_us_per_request": result["cpu_s"]["loadgen"] / requests * 1e6,
    }


def run(counts: list[int], warmup_s: float, duration_s: float, logs: Path) -> list[dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHYARD_")} | {"PYTHONUNBUFFERED": "1"}
    python = sys.executable
    database = f"switchyard_bench_{uuid.uuid4().hex[:10]}"
    prefix = f"switchyard-bench-{uuid.uuid4().hex[:8]}"
    asyncio.run(_database("create", database))
    started: list[Service] = []
    rows: list[dict[str, Any]] = []
    try:
        oauth_port, cloudcode_port = free_port(), free_port()
        oauth = start_service(
            "oauth",
            [python, "-m", "switchyard", "emulate", "oauth", "--port", str(oauth_port)],
            oauth_port,
            "/_control/accounts",
            env,
            logs,
        )
        started.append(oauth)
        cloudcode = start_service(
            "cloudcode",
            [python, "-m", "switchyard", "emulate", "antigravity", "--port", str(cloudcode_port)],
            cloudcode_port,
            "/_control/settings",
            env,
            logs,
        )
        started.append(cloudcode)
        token = httpx.post(f"{oauth.url}/_control/accounts", json={"name": ACCOUNT}).json()["refresh_token"]
        httpx.post(
            f"{cloudcode.url}/_control/accounts", json={"name": ACCOUNT, "quota_requests": 1_000_000_000}
        ).raise_for_status()
        base = POSTGRES_ADMIN_DSN.rsplit("/", 1)[0]
        genv = gateway_env(env, logs / "data", oauth.url, cloudcode.url) | {
            "SWITCHYARD_DATABASE_URL": f"{base}/{database}",
            "SWITCHYARD_REDIS_URL": REDIS_URL,
            "SWITCHYARD_REDIS_PREFIX": prefix,
            "SWITCHYARD_SECRET_KEY": "bench-cluster-secret",
            "SWITCHYARD_ADMIN_KEY": "sy-admin-bench-cluster-0123456789abcdef",
            "SWITCHYARD_LOG_LEVEL": "warning",
        }
        key = asyncio.run(_prepare_store(genv, token))
        for count in counts:
            gateways: list[Service] = []
            try:
                for index in range(count):
                    port = free_port()
                    instance_env = genv | {"SWITCHYARD_DATA_DIR": str(logs / f"data-{count}-{index}")}
                    gateways.append(
                        start_service(
                            f"gateway-{count}-{index}",
                            [python, "-m", "switchyard", "serve", "--port", str(port)],
                            port,
                            "/readyz",
                            instance_env,
                            logs,
                        )
                    )
                row = _measure(
                    [g.port for g in gateways],
                    [g.pid for g in gateways],
                    cloudcode.pid,
                    key,
                    warmup_s,
                    duration_s,
                )
                print(
                    f"{count} instance(s): {row['requests_per_s']:.0f} req/s, p50 {row['p50_ms']:.1f} ms, "
                    f"p99 {row['p99_ms']:.1f} ms, errors {row['errors']}, gateway CPU "
                    f"{row['gateway_cpu_us_per_request']:.0f} µs/req",
                    file=sys.stderr,
                )
                rows.append(row)
            finally:
                for gateway in gateways:
                    gateway.stop()
    finally:
        for service in reversed(started):
            service.stop()
        asyncio.run(_database("drop", database))
        _drop_redis_prefix(prefix)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="1 vs N gateway instances on one PostgreSQL + Redis.")
    parser.add_argument("--quick", action="store_true", help="3 s per measurement instead of 15 s")
    parser.add_argument(
        "--instances", default="1,3,1,3", help="instance counts, measured in this order (default 1,3,1,3)"
    )
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    counts = [int(part) for part in args.instances.split(",") if part.strip()]
    warmup_s, duration_s = (1.0, 3.0) if args.quick else (3.0, 15.0)
    raise_open_files_limit()
    when = dt.datetime.now(dt.UTC)
    began = time.monotonic()
    load_at_start = list(os.getloadavg())
    logs = Path(tempfile.mkdtemp(prefix="switchyard-bench-cluster-"))
    try:
        rows = run(counts, warmup_s, duration_s, logs)
    finally:
        shutil.rmtree(logs, ignore_errors=True)
    results = {
        "date": when.isoformat(timespec="seconds"),
        "scenario": "cluster: small non-streaming requests, concurrency 64, N instances on one PG + Redis",
        "command": "python -m bench.cluster " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine_info()
        | {"load_average_at_start": load_at_start, "load_average_at_end": list(os.getloadavg())},
        "settings": {"concurrency": CONCURRENCY, "warmup_s": warmup_s, "duration_s": duration_s},
        "rows": rows,
        "elapsed_s": round(time.monotonic() - began, 1),
    }
    print(json.dumps(rows, indent=1))
    if not args.no_write:
        suffix = "-cluster-quick" if args.quick else "-cluster"
        path = RESULTS_DIR / f"{when.date().isoformat()}{suffix}.json"
        path.write_text(json.dumps(results, indent=1) + "\n")
        print(f"written to {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
