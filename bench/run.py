"""Benchmarks entry point: `python -m bench.run --quick` (under 2 minutes) or `--full` (`make bench`).

Starts the emulators, the gateway and the floor as separate processes (bench/processes.py), runs the
scenarios side by side against the same emulator (bench/scenarios.py), prints a summary and writes
`bench/results/<date>.json` (the quick profile writes `<date>-quick.json`).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any

from bench import scenarios
from bench.loadgen import raise_open_files_limit
from bench.processes import start_stack
from bench.results import check_targets, machine_info, write_results

SCENARIOS = ("latency", "streaming", "concurrency", "media")


def _print_summary(results: dict[str, Any]) -> None:
    found = results["scenarios"]
    if "added_latency" in found:
        print("\n1. added latency (ms; added = minus direct):")
        for target, row in found["added_latency"]["summary"].items():
            c1, c64 = row["c1"], row["c64"]
            print(
                f"  {target:7} c1 p50 {c1['p50_ms']:.3f} (+{c1['added_p50_ms']:.3f}) p99 {c1['p99_ms']:.3f} "
                f"(+{c1['added_p99_ms']:.3f}) | c64 p50 {c64['p50_ms']:.2f} p99 {c64['p99_ms']:.2f} "
                f"{c64['requests_per_s']:.0f} req/s, errors {c1['errors'] + c64['errors']}"
            )
    if "streaming_cpu" in found:
        print("\n2. streaming CPU per chunk (µs of the target process):")
        for target, row in found["streaming_cpu"]["summary"].items():
            print(
                f"  {target:7} {row['cpu_us_per_chunk']:.2f} µs/chunk, {row['chunks_per_s']:.0f} chunks/s "
                f"(emulator {row['emulator_cpu_us_per_chunk']:.2f}, loadgen {row['loadgen_cpu_us_per_chunk']:.2f}), "
                f"errors {row['errors']}"
            )
    if "concurrent_streams" in found:
        settings = found["concurrent_streams"]["settings"]
        print(
            f"\n3. {settings['streams']} concurrent streams, one event per second for {settings['seconds']} s:"
        )
        for target, row in found["concurrent_streams"]["summary"].items():
            gaps = row["gap_minus_pacing_ms"]
            print(
                f"  {target:7} errors {row['errors']}, RSS/stream {row['rss_per_stream_kb']:.1f} KiB, "
                f"gap-1s p50 {gaps.get('p50', 0):.2f} p99 {gaps.get('p99', 0):.2f} ms "
                f"(added p99 {row['added_gap_p99_ms']:.2f} ms)"
            )
    if "big_media" in found:
        print("\n4. big media (20 MB base64 image):")
        for target, row in found["big_media"]["summary"].items():
            print(
                f"  {target:7} {row['time_s'].get('p50', float('nan')) * 1000:.0f} ms, peak RSS growth "
                f"{row['peak_growth_kb'] / 1024:.1f} MiB = {row['peak_growth_x_image']:.2f}x, errors {row['errors']}"
            )
    print("\ntargets:")
    for check in results["targets"]:
        measured = check["measured"]
        shown = "n/a" if measured is None else f"{measured:.3g}"
        verdict = {True: "met", False: "MISSED", None: "not run"}[check["met"]]
        sign = ">=" if check["at_least"] else "<="
        print(f"  {check['target']}: {shown} {check['unit']} ({sign} {check['limit']}) {verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Switchyard benchmarks (issue 8).")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="short runs, 300 streams (under 2 minutes)")
    mode.add_argument("--full", action="store_true", help="the full run: 2,000 streams for 60 s")
    parser.add_argument("--only", choices=SCENARIOS, action="append", help="run only these scenarios")
    parser.add_argument("--output", type=Path, help="results folder (default bench/results)")
    parser.add_argument("--no-write", action="store_true", help="print only, write no results file")
    parser.add_argument("--logs", type=Path, help="keep the processes' logs in this folder")
    args = parser.parse_args(argv)
    profile = scenarios.FULL if args.full else scenarios.QUICK
    chosen = tuple(args.only or SCENARIOS)
    raise_open_files_limit()
    began = time.monotonic()
    when = dt.datetime.now(dt.UTC)
    stack = start_stack(args.logs)
    print(f"stack ready in {time.monotonic() - began:.1f} s (profile {profile.name})", file=sys.stderr)
    found: dict[str, Any] = {}
    try:
        if "latency" in chosen:
            found["added_latency"] = scenarios.added_latency(
                stack, profile, ("direct", "floor", "gemini", "openai")
            )
        if "streaming" in chosen:
            found["streaming_cpu"] = scenarios.streaming_cpu(
                stack, profile, ("direct", "floor", "gemini", "openai")
            )
        if "concurrency" in chosen:
            found["concurrent_streams"] = scenarios.concurrent_streams(
                stack, profile, ("direct", "floor", "openai")
            )
        if "media" in chosen:
            found["big_media"] = scenarios.big_media(stack, profile, ("direct", "floor", "gemini", "openai"))
    finally:
        stack.stop()
    results = {
        "date": when.isoformat(timespec="seconds"),
        "profile": profile.name,
        "command": "python -m bench.run " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine_info(),
        "profile_settings": dataclasses.asdict(profile),
        "scenarios": found,
        "targets": check_targets(found),
        "elapsed_s": round(time.monotonic() - began, 1),
    }
    _print_summary(results)
    if not args.no_write:
        path = write_results(results, when=when, folder=args.output or scenarios_results_dir())
        print(f"\nresults written to {path} in {results['elapsed_s']} s", file=sys.stderr)
    return 0


def scenarios_results_dir() -> Path:
    from bench.results import RESULTS_DIR

    return RESULTS_DIR


if __name__ == "__main__":
    raise SystemExit(main())
