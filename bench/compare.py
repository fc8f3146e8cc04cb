"""Floor variants side by side: which upstream client and which server layer cost what.

Starts the usual stack (bench/processes.py), then one extra floor process per variant
(`bench.floor --client C --server S`), and runs scenario 1 (unary, concurrency 1 and 64) and
scenario 2 (streaming CPU per chunk) against each, plus `direct` for reference.

    python -m bench.compare                      # every variant, 5 s per measurement
    python -m bench.compare --seconds 10 --variant raw/asgi --variant gateway/starlette
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from bench.loadgen import raise_open_files_limit
from bench.payloads import Credentials, request_spec
from bench.processes import BenchStack, Service, free_port, start_service, start_stack
from bench.scenarios import run_loadgen

VARIANTS = (
    "gateway/starlette",
    "httpx/starlette",
    "aiohttp/starlette",
    "raw/starlette",
    "httpx/asgi",
    "aiohttp/asgi",
    "raw/asgi",
    "httpx-raw/starlette",
)
EVENTS, EVENT_BYTES, STREAMS = 200, 64, 8


def _start_floor(stack: BenchStack, variant: str) -> Service:
    client, server = variant.split("/")
    port = free_port()
    argv = [sys.executable, "-m", "bench.floor", "--port", str(port), "--upstream", stack.cloudcode.url]
    argv += ["--client", client, "--server", server]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    service = start_service(f"floor-{client}-{server}", argv, port, "/_floor/healthz", env, stack.workdir)
    stack.extra.append(service)
    return service


def measure(stack: BenchStack, name: str, port: int, pid: int, seconds: float) -> dict[str, Any]:
    creds = Credentials(stack.client_key, stack.access_token, stack.project)
    watch = [pid] if pid == stack.cloudcode.pid else [pid, stack.cloudcode.pid]
    row: dict[str, Any] = {"target": name}
    stack.emulator_settings()
    for concurrency in (1, 64):
        spec = {
            "host": "127.0.0.1",
            "port": port,
            **request_spec("floor", creds, stream=False),
            "mode": "unary",
            "concurrency": concurrency,
            "warmup_s": 0.5,
            "duration_s": seconds,
            "watch_pids": watch,
        }
        result = run_loadgen(spec)
        row[f"c{concurrency}_p50_ms"] = result["latency_s"]["p50"] * 1000
        row[f"c{concurrency}_p99_ms"] = result["latency_s"]["p99"] * 1000
        row[f"c{concurrency}_rps"] = result["requests_per_s"]
        row[f"c{concurrency}_cpu_us_per_req"] = result["cpu_s"][str(pid)] / max(1, result["requests"]) * 1e6
        row[f"c{concurrency}_errors"] = result["errors"]
    stack.emulator_settings(events_per_stream=EVENTS, bytes_per_event=EVENT_BYTES)
    spec = {
        "host": "127.0.0.1",
        "port": port,
        **request_spec("floor", creds, stream=True),
        "mode": "stream",
        "concurrency": STREAMS,
        "warmup_s": 0.5,
        "duration_s": seconds,
        "watch_pids": watch,
    }
    result = run_loadgen(spec)
    chunks = result["requests"] * EVENTS
    row["stream_cpu_us_per_chunk"] = result["cpu_s"][str(pid)] / max(1, chunks) * 1e6
    row["stream_chunks_per_s"] = chunks / result["measured_s"]
    row["stream_errors"] = result["errors"]
    row["stream_events_per_request"] = result["events"] / max(1, result["requests"])
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--variant", action="append", choices=VARIANTS, help="client/server (default: all)")
    parser.add_argument("--seconds", type=float, default=5.0, help="each measurement's length")
    args = parser.parse_args(argv)
    raise_open_files_limit()
    stack = start_stack()
    rows: list[dict[str, Any]] = []
    try:
        floors = {variant: _start_floor(stack, variant) for variant in args.variant or VARIANTS}
        rows.append(measure(stack, "direct", stack.cloudcode.port, stack.cloudcode.pid, args.seconds))
        for variant, service in floors.items():
            rows.append(measure(stack, variant, service.port, service.pid, args.seconds))
            print(json.dumps(rows[-1]), file=sys.stderr)
    finally:
        stack.stop()
    direct = rows[0]
    print(
        "| floor variant (client/server) | c1 p50 ms (added) | c64 req/s | c64 CPU µs/req | stream CPU µs/chunk | errors |"
    )
    print("|---|---|---|---|---|---|")
    for row in rows:
        added = row["c1_p50_ms"] - direct["c1_p50_ms"]
        errors = row["c1_errors"] + row["c64_errors"] + row["stream_errors"]
        print(
            f"| {row['target']} | {row['c1_p50_ms']:.3f} (+{added:.3f}) | {row['c64_rps']:,.0f} | "
            f"{row['c64_cpu_us_per_req']:.0f} | {row['stream_cpu_us_per_chunk']:.2f} | {errors} |"
        )
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
