"""The results file: machine facts, the scenarios' numbers, and each target checked.

`bench/results/<date>.json` holds what one `python -m bench.run` measured, with enough about the
machine (CPU model, cores, Python, package versions) to compare runs across machines honestly.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

PACKAGES = (
    "switchyard",
    "uvicorn",
    "starlette",
    "fastapi",
    "aiohttp",
    "yarl",
    "httpx",
    "httpcore",
    "h2",
    "uvloop",
    "httptools",
    "orjson",
    "anyio",
    "pydantic",
)
RESULTS_DIR = Path(__file__).parent / "results"


def machine_info() -> dict[str, Any]:
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "packages": versions,
        "git_commit": _git_commit(),
    }


def _git_commit() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False, timeout=5
        )
    except OSError:
        return None
    return done.stdout.strip() or None


def check_targets(scenarios: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of issue 8 against what was measured; None where the scenario did not run."""
    checks: list[dict[str, Any]] = []

    def check(
        name: str, measured: float | None, limit: float, *, at_least: bool = False, unit: str = ""
    ) -> None:
        met = None if measured is None else (measured >= limit if at_least else measured <= limit)
        checks.append(
            {
                "target": name,
                "measured": measured,
                "limit": limit,
                "at_least": at_least,
                "unit": unit,
                "met": met,
            }
        )

    latency = scenarios.get("added_latency", {}).get("summary", {})
    for surface in ("gemini", "openai"):
        row = latency.get(surface)
        check(f"added p50 at concurrency 1 ({surface})", row and row["c1"]["added_p50_ms"], 0.7, unit="ms")
        check(
            f"requests/s at concurrency 64 ({surface})",
            row and row["c64"]["requests_per_s"],
            2900,
            at_least=True,
            unit="req/s",
        )
    streaming = scenarios.get("streaming_cpu", {}).get("summary", {})
    floor = streaming.get("floor")
    for surface in ("openai", "gemini"):
        row = streaming.get(surface)
        check(f"CPU per chunk ({surface})", row and row["cpu_us_per_chunk"], 15, unit="µs")
        ratio = row["cpu_us_per_chunk"] / floor["cpu_us_per_chunk"] if row and floor else None
        check(f"CPU per chunk vs floor ({surface})", ratio, 1.5, unit="x")
    held = scenarios.get("concurrent_streams", {}).get("summary", {}).get("openai")
    check("errors with many concurrent streams", held and held["errors"], 0, unit="errors")
    check("RSS per open stream", held and held["rss_per_stream_kb"], 64, unit="KiB")
    media = scenarios.get("big_media", {}).get("summary", {})
    for surface in ("gemini", "openai"):
        row = media.get(surface)
        check(
            f"peak RSS growth for the 20 MB image ({surface})",
            row and row["peak_growth_x_image"],
            3,
            unit="x",
        )
    return checks


def write_results(payload: dict[str, Any], *, when: dt.datetime, folder: Path = RESULTS_DIR) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stem = when.strftime("%Y-%m-%d")
    if payload.get("profile") != "full":
        stem += f"-{payload.get('profile')}"
    path = folder / f"{stem}.json"
    path.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n")
    return path
