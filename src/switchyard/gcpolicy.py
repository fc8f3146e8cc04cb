"""Garbage-collector settings for a process that allocates per streamed chunk.

Every upstream event becomes a few dozen short-lived objects (the parsed JSON, the translated
chunk), so CPython's default generation-0 threshold (700 allocations) ran a collection every few
events, and each older-generation pass walked everything the process had built at startup
(SQLAlchemy, pydantic, FastAPI). py-spy blamed the JSON parser for 38 % of the gateway's CPU while
streaming; it was the collector. Measured with `python -m bench.run --quick --only latency --only
streaming` (docs/benchmarks.md): freezing the startup objects and raising the thresholds took CPU
per streamed chunk from 15–18 µs to 10–11 µs and requests/s at concurrency 64 from ~1,600 to
~2,200–2,500. Almost nothing here is cyclic garbage (reference counting frees it), so collecting
less often costs little memory. `switchyard serve` applies it; tests, which build many apps in one
process, keep the defaults.
"""

from __future__ import annotations

import gc

GEN0_THRESHOLD = 50_000
GEN1_THRESHOLD = 20
GEN2_THRESHOLD = 20


def tune_gc() -> None:
    """Move what exists now (modules, the built app) out of the collector's sight; collect less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GEN0_THRESHOLD, GEN1_THRESHOLD, GEN2_THRESHOLD)
