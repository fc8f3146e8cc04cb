"""Requests through the load balancer of a running deployment on the emulators (build-and-run.sh).

Adds two emulated accounts and a key through the admin API (via the load balancer), then:
rotation (which replica served each request, from nginx's `X-Switchyard-Upstream`), a burst at the
given concurrency (every answer must be 200), the usage the store counted for them, throughput at
concurrency 1 and N with bench/loadgen.py (small non-streaming requests), and what clients see while
one replica is killed (`--kill`) and started again (`--revive`).
Prints one line per measurement and exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx

MODEL = "gemini-3-flash"


def _body() -> dict[str, object]:
    return {"contents": [{"role": "user", "parts": [{"text": f"hi {uuid.uuid4().hex[:8]}"}]}]}


async def _load(
    url: str, key: str, total: int, concurrency: int
) -> tuple[list[float], Counter[str], Counter[int]]:
    latencies: list[float] = []
    upstreams: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    retried = [0]
    queue = iter(range(total))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:

        async def worker() -> None:
            for _ in queue:
                started = time.perf_counter()
                try:
                    reply = await client.post(
                        f"/antigravity/v1beta/models/{MODEL}:generateContent",
                        headers={"x-goog-api-key": key},
                        json=_body(),
                    )
                except httpx.HTTPError:
                    statuses[0] += 1
                    continue
                latencies.append(time.perf_counter() - started)
                statuses[reply.status_code] += 1
                # nginx lists every replica it tried ("a, b" when a refused): the last one answered.
                upstreams[reply.headers.get("x-switchyard-upstream", "?").split(", ")[-1]] += 1
                retried[0] += "," in reply.headers.get("x-switchyard-upstream", "")

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    if retried[0]:
        upstreams["(retried on another replica)"] = retried[0]
    return latencies, upstreams, statuses


def _admin(url: str, admin_key: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"{url}/admin/api", headers={"authorization": f"Bearer {admin_key}"}, timeout=30
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--oauth", required=True)
    parser.add_argument("--cloudcode", required=True)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=10.0, help="throughput run per concurrency; 0: none")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--kill", default="")
    parser.add_argument("--revive", default="")
    args = parser.parse_args()
    admin = _admin(args.url, os.environ["SWITCHYARD_ADMIN_KEY"])
    ok = True

    for account in admin.get("/accounts").raise_for_status().json():  # a re-run: the emulators forgot them
        if account["name"].startswith("smoke-"):
            admin.delete(f"/accounts/{account['name']}").raise_for_status()
    for index in (1, 2):
        name = f"smoke-{index}"
        token = httpx.post(f"{args.oauth}/_control/accounts", json={"name": name}).json()["refresh_token"]
        httpx.post(
            f"{args.cloudcode}/_control/accounts", json={"name": name, "quota_requests": 1_000_000_000}
        ).raise_for_status()
        admin.post(
            "/accounts/antigravity", json={"name": name, "refresh_token": token, "check": False}
        ).raise_for_status()
    key_name = f"smoke-{uuid.uuid4().hex[:6]}"
    key = admin.post("/keys", json={"name": key_name}).raise_for_status().json()["key"]

    _, upstreams, statuses = asyncio.run(_load(args.url, key, 30, 1))
    print(f"rotation: 30 sequential requests, statuses {dict(statuses)}, replicas {dict(upstreams)}")
    ok &= statuses == Counter({200: 30}) and len([u for u in upstreams if not u.startswith("(")]) == 3

    _, upstreams, statuses = asyncio.run(_load(args.url, key, args.requests, args.concurrency))
    print(
        f"burst: {args.requests} requests at concurrency {args.concurrency}, statuses {dict(statuses)}, "
        f"replicas {dict(upstreams)}"
    )
    ok &= set(statuses) == {200}

    expected = 30 + args.requests
    deadline = time.monotonic() + 10
    while True:
        counted = admin.get(f"/keys/{key_name}").raise_for_status().json()["usage"]["requests_total"]
        if counted >= expected or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    print(f"usage: the store counted {counted} requests of {expected} sent")
    ok &= counted == expected

    if args.seconds > 0:  # throughput with the benchmarks' load generator (raw sockets, its own process)
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from bench.payloads import Credentials, request_spec
        from bench.scenarios import run_loadgen

        host, _, port = args.url.removeprefix("http://").partition(":")
        for concurrency in (1, args.concurrency):
            result = run_loadgen(
                {
                    "host": host,
                    "port": int(port or 80),
                    **request_spec("gemini", Credentials(key, "", ""), stream=False),
                    "mode": "unary",
                    "concurrency": concurrency,
                    "warmup_s": 1.0,
                    "duration_s": args.seconds,
                    "watch_pids": [],
                }
            )
            latency = result["latency_s"]
            print(
                f"throughput: concurrency {concurrency}, {args.seconds:g} s: {result['requests_per_s']:.0f} req/s, "
                f"p50 {latency.get('p50', 0) * 1000:.1f} ms, p99 {latency.get('p99', 0) * 1000:.1f} ms, "
                f"errors {result['errors']} {result['error_samples'][:2]}"
            )

    if args.kill:
        subprocess.run(shlex.split(args.kill), check=True, capture_output=True)
        _, upstreams, statuses = asyncio.run(_load(args.url, key, 300, 8))
        print(f"one replica killed: 300 requests, statuses {dict(statuses)}, replicas {dict(upstreams)}")
        ok &= set(statuses) == {200} and len([u for u in upstreams if not u.startswith("(")]) == 2
    if args.revive:
        subprocess.run(shlex.split(args.revive), check=True, capture_output=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            _, upstreams, statuses = asyncio.run(_load(args.url, key, 30, 1))
            if len([u for u in upstreams if not u.startswith("(")]) == 3:
                break
            time.sleep(2)
        print(f"replica started again: 30 requests, statuses {dict(statuses)}, replicas {dict(upstreams)}")
        ok &= len([u for u in upstreams if not u.startswith("(")]) == 3
    print("smoke: ok" if ok else "smoke: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
