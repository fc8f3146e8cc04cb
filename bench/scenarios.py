"""The five scenarios of issue 8, each run side by side (direct, floor, gateway) on one emulator.

1. `added_latency`: small non-streaming requests at concurrency 1 and 64.
2. `streaming_cpu`: CPU seconds per streamed chunk at saturation, OpenAI and Gemini-native surfaces.
3. `concurrent_streams`: thousands of streams at one event per second: errors, RSS per stream, gaps.
4. `big_media`: one request carrying a 20 MB base64 image: peak RSS growth and time to answer.
5. The floor: every scenario also runs through `bench.floor`, so each figure reads as x the floor.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any

from bench.payloads import Credentials, png_base64, request_spec
from bench.processes import BenchStack
from bench.procstat import memory_kb, reset_peak_rss, rss_kb


@dataclass(frozen=True)
class Profile:
    """How long and how big each scenario runs (`--quick` or `--full`)."""

    name: str
    latency_warmup_s: float
    latency_s: float
    stream_warmup_s: float
    stream_s: float
    stream_concurrency: int
    events_per_stream: int
    bytes_per_event: int
    hold_streams: int
    hold_s: int
    hold_ramp_per_s: float
    image_bytes: int
    image_repeats: int


QUICK = Profile("quick", 0.5, 2.0, 0.5, 2.5, 8, 200, 64, 300, 10, 300.0, 20_000_000, 2)
FULL = Profile("full", 1.0, 10.0, 1.0, 10.0, 8, 200, 64, 2000, 60, 250.0, 20_000_000, 3)


def _port(stack: BenchStack, target: str) -> int:
    if target == "direct":
        return stack.cloudcode.port
    if target == "floor":
        return stack.floor.port
    return stack.gateway.port


def _pid(stack: BenchStack, target: str) -> int:
    return {"direct": stack.cloudcode.pid, "floor": stack.floor.pid}.get(target, stack.gateway.pid)


def _creds(stack: BenchStack) -> Credentials:
    return Credentials(stack.client_key, stack.access_token, stack.project)


def _loadgen_argv() -> list[str]:
    return [sys.executable, "-m", "bench.loadgen"]


def run_loadgen(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one load generator process to its end; its last output line is the result."""
    done = subprocess.run(
        _loadgen_argv(), input=json.dumps(spec).encode(), capture_output=True, check=False, timeout=900
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed: {done.stderr.decode()[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return result


def _base_spec(stack: BenchStack, target: str, **request: Any) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": _port(stack, target),
        **request_spec(target, _creds(stack), **request),
    }


def _watch(stack: BenchStack, target: str) -> list[int]:
    pids = [_pid(stack, target)]
    if target != "direct":
        pids.append(stack.cloudcode.pid)
    return pids


# --- 1. added latency ---------------------------------------------------------------------------


def added_latency(stack: BenchStack, profile: Profile, targets: tuple[str, ...]) -> dict[str, Any]:
    stack.emulator_settings()
    runs: dict[str, Any] = {}
    for target in targets:
        runs[target] = {}
        for concurrency in (1, 64):
            spec = {
                **_base_spec(stack, target, stream=False),
                "mode": "unary",
                "concurrency": concurrency,
                "warmup_s": profile.latency_warmup_s,
                "duration_s": profile.latency_s,
                "watch_pids": _watch(stack, target),
            }
            result = run_loadgen(spec)
            result["cpu_per_request_us"] = {
                name: seconds / max(1, result["requests"]) * 1e6 for name, seconds in result["cpu_s"].items()
            }
            runs[target][f"c{concurrency}"] = result
    summary: dict[str, Any] = {}
    direct = runs["direct"]
    for target, result in runs.items():
        row: dict[str, Any] = {}
        for level in ("c1", "c64"):
            latency = result[level]["latency_s"]
            row[level] = {
                "p50_ms": latency["p50"] * 1000,
                "p99_ms": latency["p99"] * 1000,
                "added_p50_ms": (latency["p50"] - direct[level]["latency_s"]["p50"]) * 1000,
                "added_p99_ms": (latency["p99"] - direct[level]["latency_s"]["p99"]) * 1000,
                "requests_per_s": result[level]["requests_per_s"],
                "errors": result[level]["errors"],
            }
        summary[target] = row
    return {"runs": runs, "summary": summary}


# --- 2. streaming CPU per chunk ------------------------------------------------------------------


def streaming_cpu(stack: BenchStack, profile: Profile, targets: tuple[str, ...]) -> dict[str, Any]:
    stack.emulator_settings(
        events_per_stream=profile.events_per_stream, bytes_per_event=profile.bytes_per_event
    )
    summary: dict[str, Any] = {}
    runs: dict[str, Any] = {}
    for target in targets:
        spec = {
            **_base_spec(stack, target, stream=True),
            "mode": "stream",
            "concurrency": profile.stream_concurrency,
            "warmup_s": profile.stream_warmup_s,
            "duration_s": profile.stream_s,
            "watch_pids": _watch(stack, target),
        }
        result = run_loadgen(spec)
        runs[target] = result
        # Chunks = upstream events relayed; OpenAI adds 2 frames (finish, [DONE]) per stream.
        chunks = result["requests"] * profile.events_per_stream
        pid = str(_pid(stack, target))
        summary[target] = {
            "chunks": chunks,
            "chunks_per_s": chunks / result["measured_s"],
            "cpu_us_per_chunk": result["cpu_s"][pid] / max(1, chunks) * 1e6,
            "emulator_cpu_us_per_chunk": result["cpu_s"][str(stack.cloudcode.pid)] / max(1, chunks) * 1e6,
            "loadgen_cpu_us_per_chunk": result["cpu_s"]["loadgen"] / max(1, chunks) * 1e6,
            "errors": result["errors"],
        }
    return {
        "settings": {
            "events_per_stream": profile.events_per_stream,
            "bytes_per_event": profile.bytes_per_event,
            "concurrency": profile.stream_concurrency,
        },
        "runs": runs,
        "summary": summary,
    }


# --- 3. many concurrent slow streams -------------------------------------------------------------


class Sampler(threading.Thread):
    """Samples a process's RSS every `interval_s` (seconds since start, KiB)."""

    def __init__(self, pid: int, interval_s: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval_s = pid, interval_s
        self.samples: list[tuple[float, int]] = []
        self.started_at = time.monotonic()
        self._stop_flag = threading.Event()

    def run(self) -> None:
        while not self._stop_flag.is_set():
            self.samples.append((time.monotonic() - self.started_at, rss_kb(self.pid)))
            self._stop_flag.wait(self.interval_s)

    def stop(self) -> None:
        self._stop_flag.set()
        self.join()


def _hold(stack: BenchStack, target: str, profile: Profile) -> dict[str, Any]:
    pid = _pid(stack, target)
    spec = {
        **_base_spec(stack, target, stream=True),
        "mode": "hold",
        "concurrency": profile.hold_streams,
        "ramp_per_s": profile.hold_ramp_per_s,
        "events_per_stream": profile.hold_s,
    }
    baseline_kb = rss_kb(pid)
    sampler = Sampler(pid)
    sampler.start()
    process = subprocess.Popen(
        _loadgen_argv(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(json.dumps(spec).encode())
    process.stdin.close()
    all_open_at: float | None = None
    result: dict[str, Any] = {}
    for line in process.stdout:
        message = json.loads(line)
        if message.get("event") == "all_open":
            all_open_at = time.monotonic() - sampler.started_at
        else:
            result = message
    process.wait()
    sampler.stop()
    if process.returncode != 0 or not result:
        raise RuntimeError(
            f"load generator failed: {process.stderr.read().decode()[-3000:] if process.stderr else ''}"
        )
    # The plateau: every stream open (after the ramp) until the first ones start to finish.
    ramp_s = profile.hold_streams / profile.hold_ramp_per_s
    plateau_end = (all_open_at or 0) + max(1.0, profile.hold_s - ramp_s - 1)
    plateau = [
        kb for at, kb in sampler.samples if all_open_at is not None and all_open_at <= at <= plateau_end
    ]
    peak_kb = max(plateau) if plateau else max(kb for _, kb in sampler.samples)
    gaps = result["gap_s"]
    return {
        "streams": profile.hold_streams,
        "completed": result["completed"],
        "errors": result["errors"],
        "error_samples": result["error_samples"],
        "rss_baseline_kb": baseline_kb,
        "rss_plateau_kb": peak_kb,
        "rss_per_stream_kb": (peak_kb - baseline_kb) / profile.hold_streams,
        "gap_minus_pacing_ms": {name: (value - 1.0) * 1000 for name, value in gaps.items()},
        "all_open_after_s": all_open_at,
        "loadgen_cpu_s": result["cpu_s"]["loadgen"],
    }


def concurrent_streams(stack: BenchStack, profile: Profile, targets: tuple[str, ...]) -> dict[str, Any]:
    stack.emulator_settings(events_per_stream=profile.hold_s, bytes_per_event=64, event_delay_ms=1000)
    summary: dict[str, Any] = {target: _hold(stack, target, profile) for target in targets}
    direct_p99 = summary["direct"]["gap_minus_pacing_ms"].get("p99", 0.0)
    for row in summary.values():
        row["added_gap_p99_ms"] = row["gap_minus_pacing_ms"].get("p99", 0.0) - direct_p99
    return {
        "settings": {"streams": profile.hold_streams, "seconds": profile.hold_s, "event_every_s": 1.0},
        "summary": summary,
    }


# --- 4. big media --------------------------------------------------------------------------------


def big_media(stack: BenchStack, profile: Profile, targets: tuple[str, ...]) -> dict[str, Any]:
    stack.emulator_settings()
    image = png_base64(profile.image_bytes)
    summary: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="switchyard-bench-media-") as folder:
        for target in targets:
            pid = _pid(stack, target)
            spec = _base_spec(stack, target, stream=False, image_b64=image)
            body_file = os.path.join(folder, f"{target}.json")
            with open(body_file, "w") as handle:
                handle.write(spec.pop("body"))
            request_bytes = os.path.getsize(body_file)
            peak_reset = reset_peak_rss(pid)
            before = memory_kb(pid)
            result = run_loadgen(
                {**spec, "body_file": body_file, "mode": "sequence", "repeats": profile.image_repeats}
            )
            after = memory_kb(pid)
            # Without the reset, VmHWM is the peak since start: then the growth is an upper bound.
            growth_kb = after["VmHWM"] - before["VmRSS"]
            summary[target] = {
                "request_bytes": request_bytes,
                "image_base64_bytes": len(image),
                "time_s": result["latency_s"],
                "first_time_s": result["first_s"],
                "errors": result["errors"],
                "rss_before_kb": before["VmRSS"],
                "rss_peak_kb": after["VmHWM"],
                "peak_reset": peak_reset,
                "peak_growth_kb": growth_kb,
                "peak_growth_x_image": growth_kb * 1024 / len(image),
            }
    return {"summary": summary}
