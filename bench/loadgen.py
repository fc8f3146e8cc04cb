"""The load generator: HTTP/1.1 keep-alive over raw asyncio sockets, parsed by httptools, on uvloop.

It runs as its own process (`python -m bench.loadgen < spec.json`), so it never shares an event loop
with what it measures, and it reports its own CPU time, so a reader can see it does not dominate.
Requests are encoded to bytes once; a response is parsed by httptools (C) and its body is only
scanned for `data:` (one SSE event), never decoded.

Modes (the `mode` of the spec):
- `unary`: `concurrency` connections send requests back to back; latency of each one measured.
- `stream`: the same with streaming requests; counts the SSE events delivered.
- `hold`: `concurrency` streams opened (ramped), each held to its end; the arrival time of every
  event is kept, so gaps between events (the upstream's pacing plus what the path adds) are known.

Prints JSON lines on stdout: `{"event": "all_open", ...}` in hold mode once every stream has its
first event, then the result.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import resource
import sys
import time
from dataclasses import dataclass, field
from typing import Any, cast

import httptools
import uvloop

from bench.procstat import cpu_seconds

EVENT_MARK = b"data:"


def encode_request(host: str, port: int, path: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def percentiles(values: list[float], points: tuple[float, ...] = (50, 90, 99, 99.9)) -> dict[str, float]:
    """Nearest-rank percentiles, plus mean and max; empty input gives an empty dict."""
    if not values:
        return {}
    ordered = sorted(values)
    result = {f"p{p:g}": ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] for p in points}
    result["mean"] = sum(ordered) / len(ordered)
    result["max"] = ordered[-1]
    return result


@dataclass
class Window:
    """The measured interval: only what happens inside it counts."""

    open: bool = False
    events: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(what)


class Connection(asyncio.Protocol):
    """One keep-alive connection; `request()` sends the pre-encoded request, awaits the response."""

    def __init__(self, window: Window, *, keep_times: bool = False) -> None:
        self.window = window
        self.keep_times = keep_times
        self.event_times: list[float] = []
        self.transport: asyncio.Transport | None = None
        self.parser: httptools.HttpResponseParser | None = None
        self.waiter: asyncio.Future[int] | None = None
        self.status = 0
        self.tail = b""
        self.events = 0
        self.error_body = b""
        self.closed = False
        self.made: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        if not self.made.done():
            self.made.set_result(None)

    def request(self, raw: bytes) -> asyncio.Future[int]:
        assert self.transport is not None
        self.parser = httptools.HttpResponseParser(self)
        self.status, self.tail, self.events, self.error_body = 0, b"", 0, b""
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        return self.waiter

    def data_received(self, data: bytes) -> None:
        assert self.parser is not None
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(f"parse error: {exc}")

    def on_headers_complete(self) -> None:
        assert self.parser is not None
        self.status = self.parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        if self.status >= 400 and len(self.error_body) < 300:
            self.error_body += body[:300]
        # A mark split across two reads is found through the last 4 bytes of the previous read.
        found = (self.tail + body).count(EVENT_MARK) if self.tail else body.count(EVENT_MARK)
        self.tail = body[-4:]
        if found:
            self.events += found
            if self.window.open:
                self.window.events += found
            if self.keep_times:
                now = time.perf_counter()
                self.event_times.extend([now] * found)

    def on_message_complete(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(self.status)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(f"connection lost: {exc!r}")

    def _fail(self, what: str) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(what))
        if self.transport is not None:
            self.transport.close()


async def _connect(host: str, port: int, window: Window, keep_times: bool = False) -> Connection:
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_connection(lambda: Connection(window, keep_times=keep_times), host, port)
    await protocol.made
    return protocol


class CpuWatch:
    """CPU seconds of the watched processes (and of this one) across the measured window."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.start: dict[int, float] = {}
        self.self_start = 0.0
        self.result: dict[str, float] = {}

    @staticmethod
    def _self() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    def begin(self) -> None:
        self.start = {pid: cpu_seconds(pid) for pid in self.pids}
        self.self_start = self._self()

    def end(self) -> None:
        self.result = {str(pid): cpu_seconds(pid) - self.start[pid] for pid in self.pids}
        self.result["loadgen"] = self._self() - self.self_start


async def run_repeating(spec: dict[str, Any], raw: bytes) -> dict[str, Any]:
    """`unary` and `stream`: back-to-back requests on `concurrency` connections."""
    host = spec["host"]
    # Several ports (the instances of a cluster): connection i goes to ports[i % n], as a balancer would.
    ports: list[int] = spec.get("ports") or [spec["port"]]
    window = Window()
    watch = CpuWatch(spec.get("watch_pids", []))
    stop_at = time.perf_counter() + spec["warmup_s"] + spec["duration_s"]
    completed = 0

    async def worker(port: int) -> None:
        nonlocal completed
        connection: Connection | None = None
        while time.perf_counter() < stop_at:
            try:
                if connection is None or connection.closed:
                    connection = await _connect(host, port, window)
                started = time.perf_counter()
                status = await connection.request(raw)
                elapsed = time.perf_counter() - started
            except (ConnectionError, OSError) as exc:
                if window.open:
                    window.error(str(exc))
                connection = None
                await asyncio.sleep(0.01)
                continue
            if not window.open:
                continue
            if status != 200:
                window.error(f"HTTP {status}: {connection.error_body.decode(errors='replace')}")
                continue
            window.latencies.append(elapsed)
            completed += 1
        if connection is not None and connection.transport is not None:
            connection.transport.close()

    async def clock() -> float:
        await asyncio.sleep(spec["warmup_s"])
        watch.begin()
        window.open = True
        opened = time.perf_counter()
        await asyncio.sleep(spec["duration_s"])
        window.open = False
        watch.end()
        return time.perf_counter() - opened

    workers = [asyncio.ensure_future(worker(ports[i % len(ports)])) for i in range(spec["concurrency"])]
    measured_s = await clock()
    await asyncio.gather(*workers)
    return {
        "mode": spec["mode"],
        "concurrency": spec["concurrency"],
        "measured_s": measured_s,
        "requests": completed,
        "requests_per_s": completed / measured_s,
        "events": window.events,
        "events_per_s": window.events / measured_s,
        "errors": window.errors,
        "error_samples": window.error_samples,
        "latency_s": percentiles(window.latencies),
        "cpu_s": watch.result,
    }


async def run_hold(spec: dict[str, Any], raw: bytes) -> dict[str, Any]:
    """`hold`: open `concurrency` streams at `ramp_per_s`, hold each to its end, keep event times."""
    host, port, count = spec["host"], spec["port"], spec["concurrency"]
    expected = spec["events_per_stream"]
    window = Window(open=True)
    opened = asyncio.Event()
    first_events = 0
    gaps: list[float] = []
    completed = 0

    async def stream(index: int) -> None:
        nonlocal first_events, completed
        connection: Connection | None = None
        try:
            connection = await _connect(host, port, window, keep_times=True)
            waiter = connection.request(raw)
            while not connection.events and not waiter.done():
                await asyncio.sleep(0.05)
            first_events += 1
            if first_events == count:
                opened.set()
            status = await waiter
        except (ConnectionError, OSError) as exc:
            window.error(str(exc))
            first_events += 1
            if first_events == count:
                opened.set()
            return
        finally:
            if connection is not None and connection.transport is not None:
                connection.transport.close()
        times = connection.event_times
        if status != 200 or len(times) < expected:
            window.error(f"HTTP {status}, {len(times)} of {expected} events")
            return
        completed += 1
        gaps.extend(later - earlier for earlier, later in itertools.pairwise(times))

    started = time.perf_counter()
    tasks = []
    for index in range(count):
        tasks.append(asyncio.ensure_future(stream(index)))
        if spec.get("ramp_per_s"):
            await asyncio.sleep(1 / spec["ramp_per_s"])
    await opened.wait()
    print(json.dumps({"event": "all_open", "after_s": time.perf_counter() - started}), flush=True)
    await asyncio.gather(*tasks)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "mode": "hold",
        "streams": count,
        "completed": completed,
        "errors": window.errors,
        "error_samples": window.error_samples,
        "events": window.events,
        "gap_s": percentiles(gaps),
        "elapsed_s": time.perf_counter() - started,
        "cpu_s": {"loadgen": usage.ru_utime + usage.ru_stime},
    }


async def run_sequence(spec: dict[str, Any], raw: bytes) -> dict[str, Any]:
    """`sequence`: `repeats` requests one after another on one connection (big bodies)."""
    window = Window(open=True)
    connection = await _connect(spec["host"], spec["port"], window)
    times: list[float] = []
    for _ in range(spec["repeats"]):
        started = time.perf_counter()
        try:
            status = await connection.request(raw)
        except (ConnectionError, OSError) as exc:
            window.error(str(exc))
            connection = await _connect(spec["host"], spec["port"], window)
            continue
        if status != 200:
            window.error(f"HTTP {status}: {connection.error_body.decode(errors='replace')}")
            continue
        times.append(time.perf_counter() - started)
    if connection.transport is not None:
        connection.transport.close()
    return {
        "mode": "sequence",
        "requests": len(times),
        "errors": window.errors,
        "error_samples": window.error_samples,
        "first_s": times[0] if times else None,
        "latency_s": percentiles(times, (50,)),
    }


async def main_async(spec: dict[str, Any]) -> dict[str, Any]:
    if "body_file" in spec:
        with open(spec["body_file"], "rb") as handle:
            body = handle.read()
    else:
        body = spec["body"].encode()
    raw = encode_request(spec["host"], spec["port"], spec["path"], spec.get("headers", {}), body)
    del body
    if spec["mode"] == "hold":
        return await run_hold(spec, raw)
    if spec["mode"] == "sequence":
        return await run_sequence(spec, raw)
    return await run_repeating(spec, raw)


def raise_open_files_limit(wanted: int = 65536) -> None:
    """Thousands of streams need thousands of descriptors; raise the soft limit up to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def main() -> None:
    spec = json.load(sys.stdin)
    raise_open_files_limit()
    result = uvloop.run(main_async(spec))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
