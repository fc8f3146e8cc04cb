"""Profile one target under load: where its CPU goes, by package and by function.

Starts the usual stack, runs the load generator against one target (unary at a concurrency, or
streams) and meanwhile samples the target process with py-spy; prints the shares of samples by the
innermost package that owns them and the functions with the most self time.

    python -m bench.profile --target gemini --mode unary --concurrency 64 --seconds 10
    python -m bench.profile --target openai --mode stream
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from bench.loadgen import raise_open_files_limit
from bench.payloads import TARGETS
from bench.processes import BenchStack, start_stack
from bench.scenarios import _base_spec, _pid, run_loadgen

EVENTS, EVENT_BYTES = 200, 64
OWNERS = (
    ("switchyard/", "switchyard"),
    ("aiohttp/", "aiohttp"),
    ("httpx/", "httpx"),
    ("httpcore/", "httpcore"),
    ("h11/", "h11"),
    ("anyio/", "anyio"),
    ("uvicorn/", "uvicorn"),
    ("starlette/", "starlette"),
    ("fastapi/", "fastapi"),
    ("sqlalchemy/", "sqlalchemy"),
    ("aiosqlite/", "aiosqlite"),
    ("prometheus_client/", "prometheus_client"),
    ("logging/", "logging"),
    ("asyncio/", "asyncio"),
    ("uvloop/", "uvloop"),
)


def owner(frame: str) -> str:
    for marker, name in OWNERS:
        if marker in frame:
            return name
    return "other"


def summarise(raw: Path, top: int) -> None:
    """py-spy's raw format: one line per stack, `frame;frame;... count`, innermost frame last."""
    by_owner: collections.Counter[str] = collections.Counter()
    by_function: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        innermost = frames[-1]
        by_function[innermost] += count
        by_owner[next((owner(f) for f in reversed(frames) if owner(f) != "other"), "other")] += count
    print(f"{total} samples")
    print("by innermost owning package:")
    for name, count in by_owner.most_common():
        print(f"  {count / total:6.1%}  {name}")
    print(f"top {top} functions by self time:")
    for name, count in by_function.most_common(top):
        print(f"  {count / total:6.1%}  {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--target", choices=TARGETS, default="gemini")
    parser.add_argument("--mode", choices=("unary", "stream"), default="unary")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--out", type=Path, help="keep py-spy's raw output here")
    args = parser.parse_args(argv)
    raise_open_files_limit()
    stack: BenchStack = start_stack()
    raw = args.out or Path(tempfile.mkdtemp()) / "profile.raw"
    try:
        stream = args.mode == "stream"
        if stream:
            stack.emulator_settings(events_per_stream=EVENTS, bytes_per_event=EVENT_BYTES)
        else:
            stack.emulator_settings()
        spec = {
            **_base_spec(stack, args.target, stream=stream),
            "mode": args.mode,
            "concurrency": args.concurrency if not stream else 8,
            "warmup_s": 1.0,
            "duration_s": args.seconds + 2,
            "watch_pids": [_pid(stack, args.target)],
        }
        result: dict[str, object] = {}
        load = threading.Thread(target=lambda: result.update(run_loadgen(spec)))
        load.start()
        threading.Event().wait(1.5)
        subprocess.run(
            [
                str(Path(sys.executable).with_name("py-spy")),
                "record",
                "--pid",
                str(_pid(stack, args.target)),
                "--format",
                "raw",
                "--nonblocking",
                "--rate",
                str(args.rate),
                "--duration",
                str(int(args.seconds)),
                "-o",
                str(raw),
            ],
            check=True,
            capture_output=True,
        )
        load.join()
    finally:
        stack.stop()
    print(f"load: {result.get('requests_per_s', 0):.0f} req/s, errors {result.get('errors')}")
    summarise(raw, args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
