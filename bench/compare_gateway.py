"""The gateway with its upstream client as shipped vs. on `bench/rawhttp.py`'s transport.

Starts the usual stack plus a second gateway (`bench.gateway_raw`, same store and emulator) and
measures both on the Gemini and OpenAI surfaces: unary at concurrency 1 and 64, and streaming CPU.

    python -m bench.compare_gateway --seconds 10
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from bench.loadgen import raise_open_files_limit
from bench.payloads import Credentials, request_spec
from bench.processes import BenchStack, free_port, gateway_env, start_service, start_stack
from bench.scenarios import run_loadgen

EVENTS, EVENT_BYTES, STREAMS = 200, 64, 8


def measure(stack: BenchStack, surface: str, port: int, pid: int, seconds: float) -> dict[str, Any]:
    creds = Credentials(stack.client_key, stack.access_token, stack.project)
    watch = [pid, stack.cloudcode.pid]
    row: dict[str, Any] = {}
    stack.emulator_settings()
    for concurrency in (1, 64):
        spec = {
            "host": "127.0.0.1",
            "port": port,
            **request_spec(surface, creds, stream=False),
            "mode": "unary",
            "concurrency": concurrency,
            "warmup_s": 1.0,
            "duration_s": seconds,
            "watch_pids": watch,
        }
        result = run_loadgen(spec)
        row[f"c{concurrency}_p50_ms"] = result["latency_s"]["p50"] * 1000
        row[f"c{concurrency}_rps"] = result["requests_per_s"]
        row[f"c{concurrency}_cpu_us_per_req"] = result["cpu_s"][str(pid)] / max(1, result["requests"]) * 1e6
        row[f"c{concurrency}_errors"] = result["errors"]
    stack.emulator_settings(events_per_stream=EVENTS, bytes_per_event=EVENT_BYTES)
    spec = {
        "host": "127.0.0.1",
        "port": port,
        **request_spec(surface, creds, stream=True),
        "mode": "stream",
        "concurrency": STREAMS,
        "warmup_s": 1.0,
        "duration_s": seconds,
        "watch_pids": watch,
    }
    result = run_loadgen(spec)
    row["stream_cpu_us_per_chunk"] = result["cpu_s"][str(pid)] / max(1, result["requests"] * EVENTS) * 1e6
    row["stream_errors"] = result["errors"]
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args(argv)
    raise_open_files_limit()
    stack = start_stack()
    try:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        genv = gateway_env(env, stack.workdir / "data", stack.oauth.url, stack.cloudcode.url)
        port = free_port()
        raw = start_service(
            "gateway-raw",
            [sys.executable, "-m", "bench.gateway_raw", "serve", "--port", str(port)],
            port,
            "/readyz",
            genv,
            stack.workdir,
        )
        stack.extra.append(raw)
        direct = measure_direct(stack, args.seconds)
        rows: list[dict[str, Any]] = []
        for surface in ("gemini", "openai"):
            for name, service in (("httpx (shipped)", stack.gateway), ("raw transport", raw)):
                row: dict[str, Any] = {"gateway": name, "surface": surface}
                row.update(measure(stack, surface, service.port, service.pid, args.seconds))
                row["c1_added_p50_ms"] = row["c1_p50_ms"] - direct
                rows.append(row)
                print(json.dumps(row), file=sys.stderr)
    finally:
        stack.stop()
    print(
        "| gateway upstream client | surface | c1 added p50 ms | c64 req/s | c64 CPU µs/req | stream CPU µs/chunk | errors |"
    )
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        errors = row["c1_errors"] + row["c64_errors"] + row["stream_errors"]
        print(
            f"| {row['gateway']} | {row['surface']} | +{row['c1_added_p50_ms']:.3f} | {row['c64_rps']:,.0f} | "
            f"{row['c64_cpu_us_per_req']:.0f} | {row['stream_cpu_us_per_chunk']:.2f} | {errors} |"
        )
    print(json.dumps(rows))
    return 0


def measure_direct(stack: BenchStack, seconds: float) -> float:
    """The emulator's own p50 at concurrency 1 (ms), what "added" is measured from."""
    creds = Credentials(stack.client_key, stack.access_token, stack.project)
    stack.emulator_settings()
    spec = {
        "host": "127.0.0.1",
        "port": stack.cloudcode.port,
        **request_spec("direct", creds, stream=False),
        "mode": "unary",
        "concurrency": 1,
        "warmup_s": 1.0,
        "duration_s": seconds,
        "watch_pids": [stack.cloudcode.pid],
    }
    return float(run_loadgen(spec)["latency_s"]["p50"]) * 1000


if __name__ == "__main__":
    raise SystemExit(main())
